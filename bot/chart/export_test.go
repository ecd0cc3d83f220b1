package chart

// LabelWidthPNG exposes labelWidthPNG to the tests of package chart_test.
var LabelWidthPNG = labelWidthPNG
