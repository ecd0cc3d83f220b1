package chart_test

import (
	"bytes"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/policyteam/alertbot/bot/chart"
	"github.com/policyteam/alertbot/watchers"
)

var update = flag.Bool("update", false, "rewrite the golden timeline picture in testdata/")

// seasonTimeline lays out the open events of the seed's kind of season,
// as the page and /alerts timeline do.
func seasonTimeline(t *testing.T) chart.Timeline {
	t.Helper()
	return chart.Layout(seasonItems(t), testNow, tokyo)
}

func decodePNG(t *testing.T, data []byte) image.Image {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	return img
}

// near reports whether two colours differ by at most tol in each channel.
func near(a, b color.Color, tol int) bool {
	ar, ag, ab, _ := a.RGBA()
	br, bg, bb, _ := b.RGBA()
	d := func(x, y uint32) bool { return abs(int(x>>8)-int(y>>8)) <= tol }
	return d(ar, br) && d(ag, bg) && d(ab, bb)
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// fadeWhite is a palette colour at alpha over the white background.
func fadeWhite(c color.RGBA, alpha float64) color.RGBA {
	m := func(v uint8) uint8 { return uint8(float64(v)*alpha + 255*(1-alpha) + 0.5) }
	return color.RGBA{m(c.R), m(c.G), m(c.B), 255}
}

func TestTimelinePNG(t *testing.T) {
	tl := seasonTimeline(t)
	var buf bytes.Buffer
	if err := chart.WritePNG(&buf, tl); err != nil {
		t.Fatal(err)
	}
	img := decodePNG(t, buf.Bytes())
	if got, want := img.Bounds().Size(), chart.PNGSize(tl); got != want || got.X != 960*chart.PNGScale {
		t.Fatalf("picture is %v, want %v", got, want)
	}
	px := func(x, y float64) color.Color { return img.At(int(x*chart.PNGScale), int(y*chart.PNGScale)) }

	// Samples, in layout units: what must be where.
	type sample struct {
		what string
		x, y float64
		want color.Color
	}
	samples := []sample{
		{"background", 2, 2, color.White},
		{"now line", tl.NowX, tl.PlotTop + 2, color.RGBA{0xcf, 0x22, 0x2e, 0xff}},
	}
	for _, m := range tl.Marks {
		mid := m.Y + chart.MarkTop + chart.MarkHeight/2
		switch m.Event {
		case "upper-house-election-2025": // a tentative window: pale fill
			samples = append(samples, sample{"July 2025 bar", m.X + m.W/2, mid, fadeWhite(chart.PaletteRGBA(m.Color), 0.45)},
				sample{"July 2025 bar's edge", m.X + 0.6, mid, chart.PaletteRGBA(m.Color)},
				sample{"after the July 2025 bar", m.X + m.W + 2, mid, color.White})
		case "jp-fy2027-budget": // a scheduled day: a full point
			samples = append(samples, sample{"31 March 2027 point", m.X, mid, chart.PaletteRGBA(m.Color)},
				sample{"beside the point", m.X + chart.PointRadius + 2, mid, color.White})
		}
	}
	if len(samples) != 7 {
		t.Fatalf("the season lacks the marks to sample: %d samples", len(samples))
	}
	lg := tl.Legend[0]
	samples = append(samples, sample{"first legend swatch", 16 + 7, tl.Height + 4 + 9, chart.PaletteRGBA(lg.Color)})
	for _, s := range samples {
		if got := px(s.x, s.y); !near(got, s.want, 6) {
			t.Errorf("%s at (%.1f, %.1f) = %v, want %v", s.what, s.x, s.y, got, s.want)
		}
	}

	// Labels are packed into lanes by the estimated width: in the
	// picture's font they must be no wider, or two could touch.
	for _, m := range tl.Marks {
		w, err := chart.LabelWidthPNG(m.Label)
		if err != nil {
			t.Fatal(err)
		}
		if w > m.LabelW {
			t.Errorf("label %q is %.1f wide in the picture, estimated %.1f", m.Label, w, m.LabelW)
		}
	}

	// The golden picture: the same size and the same pixels at the
	// samples (not the same bytes: encoders and fonts' hinting may move a
	// pixel of text without anything being wrong).
	golden := filepath.Join("testdata", "timeline.png")
	if *update {
		if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./bot/chart -run TimelinePNG -update)", err)
	}
	want := decodePNG(t, data)
	if want.Bounds() != img.Bounds() {
		t.Errorf("picture is %v, golden %v", img.Bounds(), want.Bounds())
	}
	for _, s := range samples {
		x, y := int(s.x*chart.PNGScale), int(s.y*chart.PNGScale)
		if !near(img.At(x, y), want.At(x, y), 6) {
			t.Errorf("%s differs from the golden picture: %v, golden %v", s.what, img.At(x, y), want.At(x, y))
		}
	}
}

// BenchmarkTimelinePNG: laying out and drawing the picture of
// /alerts timeline, which the command does before it answers (Slack and
// Discord want a first answer within 3 s): the season's 8 events, and
// the command's maximum of 40 crowded into one quarter.
func BenchmarkTimelinePNG(b *testing.B) {
	crowd := make([]chart.Item, 0, 40)
	for i := range 40 {
		d, err := watchers.ParseDue(fmt.Sprintf("2025-%02d-%02d", 7+i%3, 1+i%28), tokyo)
		if err != nil {
			b.Fatal(err)
		}
		crowd = append(crowd, chart.Item{ID: fmt.Sprintf("e%02d", i), Title: fmt.Sprintf("A rather long title for event number %d", i),
			Due: d, Status: watchers.Scheduled, Tags: []string{fmt.Sprintf("t%d", i%10)}})
	}
	for _, c := range []struct {
		name  string
		items []chart.Item
	}{{"season8", seasonItems(b)}, {"crowd40", crowd}} {
		b.Run(c.name, func(b *testing.B) {
			var size int
			for b.Loop() {
				var buf bytes.Buffer
				if err := chart.WritePNG(&buf, chart.Layout(c.items, testNow, tokyo)); err != nil {
					b.Fatal(err)
				}
				size = buf.Len()
			}
			b.ReportMetric(float64(size), "png-bytes")
		})
	}
}
