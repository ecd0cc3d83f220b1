package chart

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"math"
	"strconv"
	"sync"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
	"golang.org/x/image/vector"
)

// PNGScale is how many pixels one unit of the layout takes in a picture:
// chat apps show images on dense screens, where 1:1 looks blurred.
const PNGScale = 2

// The picture's colours: the page's light theme.
var (
	pngBackground = color.RGBA{0xff, 0xff, 0xff, 0xff}
	pngText       = color.RGBA{0x1f, 0x23, 0x28, 0xff}
	pngMuted      = color.RGBA{0x59, 0x63, 0x6e, 0xff}
	pngGrid       = color.RGBA{0xd1, 0xd9, 0xe0, 0xff}
	pngNow        = color.RGBA{0xcf, 0x22, 0x2e, 0xff}
)

const pngLegendRow = 22.0 // height of one row of the legend under the timeline

// PaletteRGBA returns Palette[i] as a colour.
func PaletteRGBA(i int) color.RGBA {
	var c color.RGBA
	if i < 0 || i >= len(Palette) {
		i = len(Palette) - 1
	}
	v, _ := strconv.ParseUint(Palette[i][1:], 16, 32)
	c.R, c.G, c.B, c.A = uint8(v>>16), uint8(v>>8), uint8(v), 0xff
	return c
}

// fontCache holds Go's own fonts (golang.org/x/image/font/gofont),
// parsed on first use: the binary carries them, so a picture looks the
// same on every machine. They have no CJK glyphs; such titles show boxes
// in the picture, not on the page. Only loadFonts names the font data, so
// a binary that draws no picture links none of it.
var fontCache struct {
	once          sync.Once
	regular, bold *opentype.Font
	err           error
}

func loadFonts() (regular, bold *opentype.Font, err error) {
	fontCache.once.Do(func() {
		if fontCache.regular, fontCache.err = opentype.Parse(goregular.TTF); fontCache.err != nil {
			return
		}
		fontCache.bold, fontCache.err = opentype.Parse(gobold.TTF)
	})
	return fontCache.regular, fontCache.bold, fontCache.err
}

func face(f *opentype.Font, px float64) (font.Face, error) {
	return opentype.NewFace(f, &opentype.FaceOptions{Size: px * PNGScale, DPI: 72, Hinting: font.HintingFull})
}

// canvas draws in layout units onto an image PNGScale times larger.
type canvas struct {
	img *image.RGBA
	z   *vector.Rasterizer
}

// fill rasterizes a path within the box [x0, x1]×[y0, y1] (layout
// units); the rasterizer covers only that box, so a shape costs its own
// area rather than the whole picture's. path gets a function from layout
// units to the box's pixels.
func (c *canvas) fill(col color.Color, x0, y0, x1, y1 float64, path func(z *vector.Rasterizer, p func(x, y float64) (float32, float32))) {
	const s = PNGScale
	r := image.Rect(int(math.Floor(x0*s)), int(math.Floor(y0*s)), int(math.Ceil(x1*s)), int(math.Ceil(y1*s))).Intersect(c.img.Bounds())
	if r.Empty() {
		return
	}
	c.z.Reset(r.Dx(), r.Dy())
	c.z.DrawOp = draw.Over
	path(c.z, func(x, y float64) (float32, float32) {
		return float32(x*s - float64(r.Min.X)), float32(y*s - float64(r.Min.Y))
	})
	c.z.Draw(c.img, r, image.NewUniform(col), r.Min)
}

func (c *canvas) rect(x, y, w, h float64, col color.Color) {
	c.fill(col, x, y, x+w, y+h, func(z *vector.Rasterizer, p func(x, y float64) (float32, float32)) {
		z.MoveTo(p(x, y))
		z.LineTo(p(x+w, y))
		z.LineTo(p(x+w, y+h))
		z.LineTo(p(x, y+h))
		z.ClosePath()
	})
}

// outline strokes a rectangle's edges, width wide, inside it.
func (c *canvas) outline(x, y, w, h, width float64, col color.Color) {
	c.rect(x, y, w, width, col)
	c.rect(x, y+h-width, w, width, col)
	c.rect(x, y+width, width, h-2*width, col)
	c.rect(x+w-width, y+width, width, h-2*width, col)
}

func (c *canvas) circle(cx, cy, r float64, col color.Color) {
	// Four cubic arcs; k puts the control points where a circle's
	// tangents are (4/3·tan(π/8)).
	k := 0.5523 * r
	c.fill(col, cx-r, cy-r, cx+r, cy+r, func(z *vector.Rasterizer, p func(x, y float64) (float32, float32)) {
		z.MoveTo(p(cx+r, cy))
		arc := func(ax, ay, bx, by, ex, ey float64) {
			x1, y1 := p(ax, ay)
			x2, y2 := p(bx, by)
			x3, y3 := p(ex, ey)
			z.CubeTo(x1, y1, x2, y2, x3, y3)
		}
		arc(cx+r, cy+k, cx+k, cy+r, cx, cy+r)
		arc(cx-k, cy+r, cx-r, cy+k, cx-r, cy)
		arc(cx-r, cy-k, cx-k, cy-r, cx, cy-r)
		arc(cx+k, cy-r, cx+r, cy-k, cx+r, cy)
		z.ClosePath()
	})
}

func (c *canvas) text(x, baseline float64, s string, f font.Face, col color.Color) {
	d := font.Drawer{Dst: c.img, Src: image.NewUniform(col), Face: f,
		Dot: fixed.P(int(math.Round(x*PNGScale)), int(math.Round(baseline*PNGScale)))}
	d.DrawString(s)
}

// labelWidthPNG is the width of s as a label in the picture, in layout
// units: the lanes are packed by TextWidth, which must not be narrower.
func labelWidthPNG(s string) (float64, error) {
	f, _, err := loadFonts()
	if err != nil {
		return 0, err
	}
	fc, err := face(f, LabelSize)
	if err != nil {
		return 0, err
	}
	defer fc.Close()
	return textWidth(fc, s), nil
}

// textWidth is the width of s in f, in layout units.
func textWidth(f font.Face, s string) float64 {
	return float64(font.MeasureString(f, s)) / 64 / PNGScale
}

// fade mixes c with the background: SVG's fill-opacity on white.
func fade(c color.RGBA, alpha float64) color.RGBA {
	mix := func(a, b uint8) uint8 { return uint8(math.Round(float64(a)*alpha + float64(b)*(1-alpha))) }
	return color.RGBA{mix(c.R, pngBackground.R), mix(c.G, pngBackground.G), mix(c.B, pngBackground.B), 0xff}
}

// PNGSize returns the size in pixels of tl's picture: the timeline and
// its legend below it.
func PNGSize(tl Timeline) image.Point {
	return image.Pt(int(math.Ceil(tl.Width*PNGScale)), int(math.Ceil((tl.Height+legendHeight(tl))*PNGScale)))
}

func legendHeight(tl Timeline) float64 {
	if len(tl.Legend) == 0 {
		return 0
	}
	rows, x := 1, plotMargin
	for _, e := range tl.Legend {
		w := 20 + TextWidth(legendText(e), LabelSize) + 18
		if x+w > tl.Width-plotMargin && x > plotMargin {
			rows, x = rows+1, plotMargin
		}
		x += w
	}
	return float64(rows)*pngLegendRow + 6
}

func legendText(e LegendEntry) string {
	switch e.Tag {
	case "":
		return fmt.Sprintf("untagged (%d)", e.Events)
	case OtherTags:
		return fmt.Sprintf("%s (%d)", OtherTags, e.Events)
	}
	return fmt.Sprintf("#%s (%d)", e.Tag, e.Events)
}

// WritePNG draws tl as the page does — the same layout, colours and
// labels, on the light background — with its legend below, and writes it
// as a PNG: the picture for chat (/alerts timeline).
func WritePNG(w io.Writer, tl Timeline) error {
	regular, bold, err := loadFonts()
	if err != nil {
		return fmt.Errorf("timeline picture: font: %w", err)
	}
	label, err := face(regular, LabelSize)
	if err != nil {
		return err
	}
	defer label.Close()
	strong, err := face(bold, LabelSize)
	if err != nil {
		return err
	}
	defer strong.Close()

	size := PNGSize(tl)
	// The rasterizer grows to the largest shape's box (fill resets it to
	// each box), not the picture: a full-size one would double the memory.
	c := &canvas{img: image.NewRGBA(image.Rectangle{Max: size}), z: vector.NewRasterizer(0, 0)}
	draw.Draw(c.img, c.img.Bounds(), image.NewUniform(pngBackground), image.Point{}, draw.Src)

	for _, tk := range tl.Ticks {
		top, col := 24.0, pngGrid
		if tk.Major {
			top, col = 18, pngMuted
		}
		c.rect(tk.X-0.5, top, 1, tl.Height-top, col)
		switch {
		case tk.Label == "":
		case tk.Major:
			c.text(tk.X+3, 14, tk.Label, strong, pngText)
		default:
			c.text(tk.X+3, 34, tk.Label, label, pngMuted)
		}
	}
	for _, m := range tl.Marks {
		col := PaletteRGBA(m.Color)
		alpha := 1.0
		switch m.Status {
		case "tentative":
			alpha = 0.45
		case "postponed":
			alpha = 0.2
		}
		if m.Bar {
			c.rect(m.X, m.Y+MarkTop, m.W, MarkHeight, fade(col, alpha))
			c.outline(m.X, m.Y+MarkTop, m.W, MarkHeight, 1.5, col)
		} else {
			c.circle(m.X, m.Y+MarkTop+MarkHeight/2, PointRadius, fade(col, alpha))
		}
		c.text(m.LabelX, m.Y+LabelBaseline, m.Label, label, pngText)
	}
	c.rect(tl.NowX-1, 2, 2, tl.Height-2, pngNow)
	if tl.NowX > tl.Width-60 {
		c.text(tl.NowX-4-textWidth(strong, "now"), tl.NowLabelY, "now", strong, pngNow)
	} else {
		c.text(tl.NowX+4, tl.NowLabelY, "now", strong, pngNow)
	}

	x, y := plotMargin, tl.Height+4
	for _, e := range tl.Legend {
		t := legendText(e)
		// Wrapped by the estimate, as legendHeight counted the rows.
		w := 20 + TextWidth(t, LabelSize) + 18
		if x+w > tl.Width-plotMargin && x > plotMargin {
			x, y = plotMargin, y+pngLegendRow
		}
		c.rect(x, y+3, 14, 12, PaletteRGBA(e.Color))
		c.text(x+20, y+14, t, label, pngText)
		x += w
	}
	return png.Encode(w, c.img)
}
