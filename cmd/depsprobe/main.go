package main

import (
	_ "github.com/PuerkitoBio/goquery"
	_ "github.com/andybalholm/cascadia"
	_ "github.com/arran4/golang-ical"
	_ "github.com/aymanbagabas/go-udiff"
	_ "github.com/bwmarrin/discordgo"
	_ "github.com/expr-lang/expr"
	_ "github.com/google/go-cmp/cmp"
	_ "github.com/gorilla/websocket"
	_ "github.com/mmcdole/gofeed"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/robfig/cron/v3"
	_ "github.com/slack-go/slack"
	_ "github.com/slack-go/slack/socketmode"
	_ "github.com/teambition/rrule-go"
	_ "github.com/tidwall/gjson"
	_ "go.yaml.in/yaml/v3"
	_ "golang.org/x/net/html/charset"
	_ "golang.org/x/text/encoding/japanese"
	_ "golang.org/x/time/rate"
	_ "modernc.org/sqlite"
)

func main() {}
