package datex

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// benchJapanese is a government notice and a news item, written for the
// benchmark: mostly prose, a date every sentence or two.
const benchJapanese = `令和7年6月20日
総務省自治行政局選挙部

第27回参議院議員通常選挙の執行について

参議院議員通常選挙は、令和7年7月3日（木）に公示され、7月20日（日）に投票が行われます。期日前投票は、公示日の翌日である7月4日（金）から7月19日（土）までの間、各市区町村の期日前投票所で行うことができます。投票時間は、原則として午前7時から午後8時までです。
不在者投票の請求は、7月19日（土）までに行ってください。開票は、7月20日（日）午後9時以降に順次開始される予定です。選挙の結果については、総務省ホームページで随時お知らせします。
なお、在外投票については、在外公館投票が7月5日から7月13日まで行われます。詳しくは、最寄りの在外公館にお問い合わせください。

政府は20日の臨時閣議で、令和7年度補正予算案の編成方針を決定した。石破茂首相は記者会見で「国民生活を守るため、必要な対策を迅速に講じる」と述べ、8月末までに概算要求をまとめるよう各省庁に指示した。日米関税協議については、赤沢亮正経済再生相が来週にも訪米し、7月上旬の合意を目指す。2025年4～6月期の国内総生産（GDP）速報値は8月15日に公表される。
`

// benchEnglish is the same kind of material in English.
const benchEnglish = `June 20, 2025

Japan's House of Councillors election will be held on Sunday, July 20, 2025, the Ministry of Internal Affairs and Communications announced. Official campaigning begins July 3, and early voting runs from July 4 to July 19 at designated polling stations. Polls open at 7 a.m. and close at 8 p.m. local time.

Prime Minister Shigeru Ishiba, who took office on October 1, 2024, faces his first national election since the ruling coalition lost its majority in the lower house in October 2024. Analysts expect turnout to remain near 50 percent. The Diet passed the FY2025 budget on March 31, and the government plans a supplementary budget in the second half of 2025.

In Washington, officials said trade talks would resume in early July, with a tariff deadline of August 1. The Department of Commerce will publish data for the second quarter of 2025 on July 30 at 8:30 a.m. ET. Congress must pass appropriations for fiscal year 2026 by September 30, the end of the current fiscal year.
`

func benchText(unit string) string {
	return strings.Repeat(unit, (256<<10)/len(unit)+1)
}

func benchmarkExtract(b *testing.B, text string) {
	opt := Options{Ref: corpusRef}
	if n := len(Extract(text, opt)); n == 0 {
		b.Fatal("no dates in the benchmark text")
	}
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	var start time.Duration
	if cpuTime != nil {
		start = cpuTime()
	}
	for b.Loop() {
		Extract(text, opt)
	}
	// MB per second of this process's CPU time (the collector's included):
	// unlike MB/s, it holds when other work shares the machine.
	if cpuTime != nil {
		if d := cpuTime() - start; d > 0 {
			b.ReportMetric(float64(b.N)*float64(len(text))/1e6/d.Seconds(), "MB/cpu-s")
		}
	}
}

// BenchmarkExtractJapanese measures throughput on Japanese notices and news.
func BenchmarkExtractJapanese(b *testing.B) { benchmarkExtract(b, benchText(benchJapanese)) }

// BenchmarkExtractEnglish measures throughput on English news.
func BenchmarkExtractEnglish(b *testing.B) { benchmarkExtract(b, benchText(benchEnglish)) }

// BenchmarkExtractHostile measures the worst kind of input: a candidate
// at every position.
func BenchmarkExtractHostile(b *testing.B) {
	benchmarkExtract(b, benchText("7月20日、令和7年2025-07-20 July 20, 2025 2:00 p.m. ET "))
}

// BenchmarkNearMisses: text that looks like dates and is none, at 16 KiB
// and 256 KiB; the scan stays linear when ns/byte stays flat from one size
// to the other (bounded lookahead, no backtracking).
func BenchmarkNearMisses(b *testing.B) {
	for _, unit := range []string{"7", "令和", "2025-", "July ", "午後", "a.m. ", "(", "https://", "R7.", "第7回", "20日間", "03-3581-", "2025（令和"} {
		for _, size := range []int{16 << 10, 256 << 10} {
			s := strings.Repeat(unit, size/len(unit))
			b.Run(fmt.Sprintf("%q/%dKiB", unit, size>>10), func(b *testing.B) {
				b.SetBytes(int64(len(s)))
				for b.Loop() {
					if ms := Extract(s, Options{Ref: corpusRef}); len(ms) > 0 {
						b.Fatalf("found %q", ms[0].Text)
					}
				}
			})
		}
	}
}
