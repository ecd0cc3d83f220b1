package web

// LabelWidthPNG exposes labelWidthPNG to the tests of package web_test.
var LabelWidthPNG = labelWidthPNG
