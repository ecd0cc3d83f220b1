package datex

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // zones on hosts without a zone database
)

// corpusRef is the reference date of the corpus: a notional publication
// date for every sentence, so that dates without a year resolve as a feed
// item published that day would.
var corpusRef = time.Date(2025, 6, 1, 9, 0, 0, 0, mustZone("Asia/Tokyo"))

// corpus holds real-style sentences — Japanese and English, news and
// government notices, written for this test — with every date expression
// a reader would take from each, as "text => due". A sentence with no
// wants is a negative: phone numbers, URLs, ids, versions, page numbers,
// ordinals, counts of days and times with no date.
var corpus = []struct {
	text string
	want []string
}{
	// Japanese: elections and the Diet.
	{"参議院議員通常選挙は7月3日公示、7月20日投開票の日程で行われる。", []string{"7月3日 => 2025-07-03", "7月20日 => 2025-07-20"}},
	{"政府は6月20日の閣議で、参院選の日程を正式に決定した。", []string{"6月20日 => 2025-06-20"}},
	{"第217回国会（常会）は令和7年1月24日に召集された。", []string{"令和7年1月24日 => 2025-01-24"}},
	{"令和7年度予算は3月31日に参議院本会議で可決、成立した。", []string{"令和7年度 => JFY2025", "3月31日 => 2025-03-31"}},
	{"石破首相は2月7日（日本時間8日未明）、ワシントンでトランプ大統領と会談した。", []string{"2月7日 => 2025-02-07", "8日 => 2025-02-08"}},
	{"日米首脳会談は現地時間2月7日午前11時から行われた。", []string{"2月7日 => 2025-02-07"}},
	{"総務省は、7月20日執行の参議院議員通常選挙の期日前投票が7月4日から7月19日まで行われると発表した。", []string{"7月20日 => 2025-07-20", "7月4日 => 2025-07-04", "7月19日 => 2025-07-19"}},
	{"内閣府は2025年4～6月期の国内総生産（GDP）速報値を8月15日に公表する。", []string{"2025年4～6月期 => 2025-Q2", "8月15日 => 2025-08-15"}},
	{"防衛省は令和8年度概算要求を8月末までにまとめる方針だ。", []string{"令和8年度 => JFY2026", "8月末 => 2025-08-31"}},
	{"今国会の会期は6月22日までの150日間。", []string{"6月22日 => 2025-06-22"}},
	{"令和6年（2024年）12月27日、令和7年度予算案が閣議決定された。", []string{"令和6年（2024年）12月27日 => 2024-12-27", "令和7年度 => JFY2025"}},
	{"2025（令和7）年7月20日に投票が行われる。", []string{"2025（令和7）年7月20日 => 2025-07-20"}},
	{"7月20日（日）午前7時から午後8時まで投票できます。", []string{"7月20日（日）午前7時 => 2025-07-20T07:00+09:00"}},
	{"期日前投票は7月4日（金）～7月19日（土）に行われます。", []string{"7月4日 => 2025-07-04", "7月19日 => 2025-07-19"}},
	{"全国大会は8月1日～3日に開かれる。", []string{"8月1日 => 2025-08-01", "3日 => 2025-08-03"}},
	{"平成31年4月30日をもって天皇陛下が退位された。", []string{"平成31年4月30日 => 2019-04-30"}},
	{"令和元年5月1日に新天皇が即位した。", []string{"令和元年5月1日 => 2019-05-01"}},
	{"令和元年度補正予算が成立した。", []string{"令和元年度 => JFY2019"}},
	{"提出書類は令和七年三月三十一日までに提出すること。", []string{"令和七年三月三十一日 => 2025-03-31"}},
	{"投開票日は二〇二五年七月二十日である。", []string{"二〇二五年七月二十日 => 2025-07-20"}},
	{"令和７年７月２０日執行 参議院議員通常選挙", []string{"令和７年７月２０日 => 2025-07-20"}},
	{"申請期限はR7.7.31です。", []string{"R7.7.31 => 2025-07-31"}},
	{"本規程はH31.4.1から施行する。", []string{"H31.4.1 => 2019-04-01"}},
	{"日米首脳会談は来年2月上旬で調整している。", []string{"来年2月上旬 => 2026-02"}},
	{"衆院解散は9月下旬との見方が強まっている。", []string{"9月下旬 => 2025-09"}},
	{"トランプ大統領は来年4月に訪中する予定だ。", []string{"来年4月 => 2026-04"}},
	{"政府は今年中に新たな経済対策をまとめる。", []string{"今年 => 2025"}},
	{"2026年度の防衛費は9兆円を超える見通しだ。", []string{"2026年度 => JFY2026"}},
	{"2000年代以降、日米同盟は強化されてきた。", nil},
	{"政府は5年間で43兆円の防衛費を確保する。", nil},
	{"2027年度までに防衛費をGDP比2％に増額する。", []string{"2027年度 => JFY2027"}},
	{"会見は14時30分から首相官邸で行われる。", nil},
	{"首相は7月20日14時30分から記者会見を行う。", []string{"7月20日14時30分 => 2025-07-20T14:30+09:00"}},
	{"大勢は7月21日午前0時ごろ判明する見通し。", []string{"7月21日午前0時 => 2025-07-21T00:00+09:00"}},
	{"改正法は4月1日から施行された。", []string{"4月1日 => 2025-04-01"}},
	{"本法律は、公布の日から起算して6月を経過した日から施行する。", nil},
	{"施行日は令和8年4月1日とする。", []string{"令和8年4月1日 => 2026-04-01"}},
	{"改正法は2026年4月に施行される。", []string{"2026年4月 => 2026-04"}},
	{"日銀は7月30、31日に金融政策決定会合を開く。", []string{"7月30 => 2025-07-30", "31日 => 2025-07-31"}},
	{"米大統領選挙は2028年11月7日に行われる。", []string{"2028年11月7日 => 2028-11-07"}},
	{"日本銀行は2025年7月の展望リポートで物価見通しを引き上げた。", []string{"2025年7月 => 2025-07"}},
	{"参院選は今月20日に公示される見通しだ。", []string{"今月20日 => 2025-06-20"}},
	{"2025年7月20日、第27回参議院議員通常選挙の投票が行われた。", []string{"2025年7月20日 => 2025-07-20"}},
	{"首相は3日、記者団の取材に応じた。", []string{"3日 => 2025-06-03"}},
	{"政府は30日、臨時閣議を開いた。", []string{"30日 => 2025-05-30"}},
	{"石破首相は9月7日、辞任を表明した。", []string{"9月7日 => 2025-09-07"}},
	{"自民党総裁選は9月22日告示、10月4日投開票の日程で行われる。", []string{"9月22日 => 2025-09-22", "10月4日 => 2025-10-04"}},
	{"新内閣は10月21日に発足した。", []string{"10月21日 => 2025-10-21"}},
	{"政府・与党は年内に補正予算案を編成する方針だ。", nil},
	{"臨時国会は秋に召集される見通しだ。", nil},
	{"通常国会は令和8年1月に召集される。", []string{"令和8年1月 => 2026-01"}},
	{"日米2プラス2は2025年内の開催に向けて調整している。", []string{"2025年 => 2025"}},
	{"追加関税は8月1日から発動される。", []string{"8月1日 => 2025-08-01"}},
	{"同協定は2026年1月1日に発効する。", []string{"2026年1月1日 => 2026-01-01"}},
	{"大阪・関西万博は2025年4月13日から10月13日まで開催される。", []string{"2025年4月13日 => 2025-04-13", "10月13日 => 2025-10-13"}},
	{"国勢調査は令和7年10月1日現在で実施する。", []string{"令和7年10月1日 => 2025-10-01"}},
	{"申込期間：2025年7月1日（火）～7月31日（木）", []string{"2025年7月1日 => 2025-07-01", "7月31日 => 2025-07-31"}},
	{"受付時間は平日9時～17時です。", nil},
	{"説明会を7月10日（木）14時～16時に開催します。", []string{"7月10日（木）14時 => 2025-07-10T14:00+09:00"}},
	{"締切：令和7年8月29日（金）17時必着", []string{"令和7年8月29日（金）17時 => 2025-08-29T17:00+09:00"}},
	{"次回会合は2025年第4四半期に開催する予定だ。", []string{"2025年第4四半期 => 2025-Q4"}},
	{"政府は2026年前半に日米首脳会談を行う方向で調整している。", []string{"2026年前半 => 2026-H1"}},
	{"2025年7～9月期の実質GDPは年率換算で1.2％増だった。", []string{"2025年7～9月期 => 2025-Q3"}},
	{"今年度の税収は過去最高となる見込みだ。", []string{"今年度 => JFY2025"}},
	{"来年度予算の概算要求基準を閣議了解した。", []string{"来年度 => JFY2026"}},
	{"昨年度の実績は3兆円だった。", []string{"昨年度 => JFY2024"}},
	{"2024年度補正予算は12月17日に成立した。", []string{"2024年度 => JFY2024", "12月17日 => 2024-12-17"}},
	{"米国の2026会計年度は2025年10月1日に始まる。", []string{"2026会計年度 => USFY2026", "2025年10月1日 => 2025-10-01"}},
	{"衆議院議員の任期満了は2028年10月である。", []string{"2028年10月 => 2028-10"}},
	{"参院選の公示日は7月3日（木）です。", []string{"7月3日 => 2025-07-03"}},
	{"令和7年（2025年）6月13日閣議決定", []string{"令和7年（2025年）6月13日 => 2025-06-13"}},
	{"「骨太の方針2025」は6月13日に閣議決定された。", []string{"6月13日 => 2025-06-13"}},
	{"首相は「7月20日に国民の審判を仰ぐ」と述べた。", []string{"7月20日 => 2025-07-20"}},
	{"日程：2025年7月20日（日）午後8時～", []string{"2025年7月20日（日）午後8時 => 2025-07-20T20:00+09:00"}},
	{"結果は2025年7月20日（日本時間21日）に発表された。", []string{"2025年7月20日 => 2025-07-20", "21日 => 2025-07-21"}},
	{"開票は7月20日午後9時15分から始まる。", []string{"7月20日午後9時15分 => 2025-07-20T21:15+09:00"}},
	{"会談は8月5日正午から行われる。", []string{"8月5日正午 => 2025-08-05T12:00+09:00"}},
	{"発表は2月7日午後2時半の予定。", []string{"2月7日午後2時半 => 2025-02-07T14:30+09:00"}},
	{"締め切りは2025年12月末です。", []string{"2025年12月末 => 2025-12-31"}},
	{"令和7年度末までに計画を策定する。", []string{"令和7年度末 => 2026-03-31"}},
	{"2025年末までに結論を出す。", []string{"2025年末 => 2025-12-31"}},
	{"日米関税協議は7月中旬に再開される見込み。", []string{"7月中旬 => 2025-07"}},
	{"政府は8月上旬にも方針を決定する。", []string{"8月上旬 => 2025-08"}},
	{"2026年上半期に日本で開催される。", []string{"2026年上半期 => 2026-H1"}},
	{"2025年下半期の見通しを示した。", []string{"2025年下半期 => 2025-H2"}},
	{"トヨタ自動車の2025年3月期決算は過去最高益だった。", []string{"2025年3月期 => JFY2024"}},
	{"来月の日米首脳会談に向けて準備を進める。", []string{"来月 => 2025-07"}},
	{"先月の貿易統計によると輸出が減少した。", []string{"先月 => 2025-05"}},
	{"国会は7月3日に閉会し、同日参院選が公示された。", []string{"7月3日 => 2025-07-03"}},
	{"告示は2025年9月22日（月）、投票は10月4日（土）です。", []string{"2025年9月22日 => 2025-09-22", "10月4日 => 2025-10-04"}},
	{"新制度は令和9年4月から始まる。", []string{"令和9年4月 => 2027-04"}},
	{"令和9年度の予算編成に反映させる。", []string{"令和9年度 => JFY2027"}},
	{"昭和64年1月7日に昭和天皇が崩御した。", []string{"昭和64年1月7日 => 1989-01-07"}},
	{"参院選は7月3日公示、20日投開票で行われる。", []string{"7月3日 => 2025-07-03", "20日 => 2025-07-20"}},
	{"年末年始の休館は2025年12月28日から1月4日まで。", []string{"2025年12月28日 => 2025-12-28", "1月4日 => 2026-01-04"}},
	{"２０２６年３月３１日までに報告すること。", []string{"２０２６年３月３１日 => 2026-03-31"}},
	{"首脳会談は二千二十五年二月七日に行われた。", []string{"二千二十五年二月七日 => 2025-02-07"}},

	// Japanese negatives.
	{"問い合わせは電話03-3581-0101（内線2025）まで。", nil},
	{"詳細は https://www.soumu.go.jp/senkyo/2025/07/20/index.html を参照してください。", nil},
	{"第7回日米経済政策協議委員会を開催した。", nil},
	{"資料の12ページを参照のこと。", nil},
	{"毎月20日に広報紙を発行しています。", nil},
	{"1日あたり3回服用してください。", nil},
	{"締め切りまで残り10日。", nil},
	{"会期は延長され、計12日間となった。", nil},
	{"石破内閣の支持率は3か月ぶりに上昇した。", nil},
	{"内閣府令第20号を公布した。", nil},
	{"郵便番号100-8914、東京都千代田区永田町1-6-1", nil},
	{"バージョン2025.07のリリースノートを参照。", nil},
	{"法律第七十号として公布された。", nil},
	{"将来年金の受給額は減少する見込みだ。", nil},
	{"平成の30年間を振り返る。", nil},
	{"投票率は52.05％だった。", nil},
	{"第2次石破内閣が発足した。", nil},
	{"2時間にわたって協議した。", nil},
	{"防衛費の増額は一時見送られた。", nil},
	{"ISBN978-4-00-431234-5で検索してください。", nil},

	// English: news and government.
	{"The House of Councillors election will be held on July 20, with official campaigning beginning July 3.", []string{"July 20 => 2025-07-20", "July 3 => 2025-07-03"}},
	{"Prime Minister Shigeru Ishiba met President Trump at the White House on February 7, 2025.", []string{"February 7, 2025 => 2025-02-07"}},
	{"The summit is scheduled for 10:30 a.m. EST on Friday, February 7.", []string{"10:30 a.m. EST on Friday, February 7 => 2025-02-07T10:30-05:00"}},
	{"The Diet passed the FY2025 budget on March 31.", []string{"FY2025 => JFY2025", "March 31 => 2025-03-31"}},
	{"Japan's FY2026 defense budget request totals 8.8 trillion yen.", []string{"FY2026 => JFY2026"}},
	{"The FY2026 National Defense Authorization Act includes provisions on U.S. Forces Japan.", []string{"FY2026 => USFY2026"}},
	{"Congress must pass appropriations for fiscal year 2026 by September 30.", []string{"fiscal year 2026 => USFY2026", "September 30 => 2025-09-30"}},
	{"Japan's fiscal year 2025 runs from April 1, 2025, to March 31, 2026.", []string{"fiscal year 2025 => JFY2025", "April 1, 2025 => 2025-04-01", "March 31, 2026 => 2026-03-31"}},
	{"GDP data for Q3 2026 will be released in November.", []string{"Q3 2026 => 2026-Q3", "November => 2026-11"}},
	{"The government expects growth to pick up in the first half of 2026.", []string{"the first half of 2026 => 2026-H1"}},
	{"Elections are expected in early July 2025.", []string{"early July 2025 => 2025-07"}},
	{"Officials said talks could resume in mid-September.", []string{"mid-September => 2025-09"}},
	{"A decision is expected by late 2025.", []string{"late 2025 => 2025"}},
	{"The deadline is the end of July.", []string{"the end of July => 2025-07-31"}},
	{"The agreement takes effect on 1 April 2026.", []string{"1 April 2026 => 2026-04-01"}},
	{"The report was published on 20 Jul 2025.", []string{"20 Jul 2025 => 2025-07-20"}},
	{"Talks are set for Sept. 5 in Tokyo.", []string{"Sept. 5 => 2025-09-05"}},
	{"The meeting will be held at 2:00 p.m. ET on July 20.", []string{"2:00 p.m. ET on July 20 => 2025-07-20T14:00-04:00"}},
	{"The press conference starts at 10:30 JST on July 21.", []string{"10:30 JST on July 21 => 2025-07-21T10:30+09:00"}},
	{"Voting ends at 8 p.m. local time on July 20.", []string{"July 20 => 2025-07-20"}},
	{"The Bank of Japan will announce its decision on July 31 at around 12:00 JST.", []string{"July 31 at around 12:00 JST => 2025-07-31T12:00+09:00"}},
	{"Ishiba became prime minister on October 1, 2024.", []string{"October 1, 2024 => 2024-10-01"}},
	{"The Lower House election was held on October 27, 2024.", []string{"October 27, 2024 => 2024-10-27"}},
	{"In the October 2024 elections, the LDP and Komeito lost their majority.", []string{"October 2024 => 2024-10"}},
	{"Japan plans to raise defense spending to 2% of GDP by 2027.", []string{"2027 => 2027"}},
	{"The LDP-led coalition has held a majority since 2012.", []string{"2012 => 2012"}},
	{"Trump and Ishiba agreed to meet again in the second half of 2025.", []string{"the second half of 2025 => 2025-H2"}},
	{"The ministry will publish data for the third quarter of 2025 on November 17.", []string{"the third quarter of 2025 => 2025-Q3", "November 17 => 2025-11-17"}},
	{"Tariffs of 25% take effect August 1.", []string{"August 1 => 2025-08-01"}},
	{"The tariff deadline was extended from July 9 to August 1.", []string{"July 9 => 2025-07-09", "August 1 => 2025-08-01"}},
	{"The 90-day pause expires on 9 July.", []string{"9 July => 2025-07-09"}},
	{"The ceremony begins at noon on April 29.", []string{"noon on April 29 => 2025-04-29T12:00+09:00"}},
	{"The Cabinet Office will release the figures on 2025/08/15.", []string{"2025/08/15 => 2025-08-15"}},
	{"Applications close 7/31/2025 at 5 p.m. EDT.", []string{"7/31/2025 at 5 p.m. EDT => 2025-07-31T17:00-04:00"}},
	{"Version 1.20.7 was released in July 2025.", []string{"July 2025 => 2025-07"}},
	{"The meeting runs July 3–20, 2025, in Geneva.", []string{"July 3 => 2025-07-03", "20, 2025 => 2025-07-20"}},
	{"Negotiators will meet from July 30 to August 2, 2025.", []string{"July 30 => 2025-07-30", "August 2, 2025 => 2025-08-02"}},
	{"The event was rescheduled to 2025-09-15.", []string{"2025-09-15 => 2025-09-15"}},
	{"The feed was updated at 2025-07-20T10:30:00+09:00.", []string{"2025-07-20T10:30:00+09:00 => 2025-07-20T10:30+09:00"}},
	{"Doors open 2025-07-20 18:00 JST.", []string{"2025-07-20 18:00 JST => 2025-07-20T18:00+09:00"}},
	{"The comment period closes on Monday, August 18, 2025.", []string{"August 18, 2025 => 2025-08-18"}},
	{"Results for fiscal 2025 will be announced in May 2026.", []string{"fiscal 2025 => USFY2025", "May 2026 => 2026-05"}},
	{"The Pentagon's FY26 budget request was sent to Congress.", []string{"FY26 => USFY2026"}},
	{"The plan targets Q4 of 2025 for a first delivery.", []string{"Q4 of 2025 => 2025-Q4"}},
	{"Earnings for H1 2026 beat forecasts.", []string{"H1 2026 => 2026-H1"}},
	{"The treaty entered into force in 1960.", []string{"1960 => 1960"}},
	{"A vote is possible by the end of 2025.", []string{"the end of 2025 => 2025-12-31"}},
	{"Campaigning runs until July 19, the day before the vote.", []string{"July 19 => 2025-07-19"}},
	{"The Diet session ends June 22 unless extended.", []string{"June 22 => 2025-06-22"}},
	{"Officials expect a decision in late August.", []string{"late August => 2025-08"}},
	{"The next round of talks is slated for early 2026.", []string{"early 2026 => 2026"}},
	{"Ishiba visited Washington in February.", []string{"February => 2025-02"}},
	{"The summit was held Feb. 7 at the White House.", []string{"Feb. 7 => 2025-02-07"}},
	{"The notice is dated 15 May 2025.", []string{"15 May 2025 => 2025-05-15"}},
	{"USFY2026 begins on October 1, 2025.", []string{"USFY2026 => USFY2026", "October 1, 2025 => 2025-10-01"}},
	{"The event is tracked as JFY2025 and 2025-Q3 in alertbot.", []string{"JFY2025 => JFY2025", "2025-Q3 => 2025-Q3"}},
	{"From 2025-07 the new rules apply.", []string{"2025-07 => 2025-07"}},
	{"Polls close at 8 p.m. on Sunday, July 20, 2025.", []string{"8 p.m. on Sunday, July 20, 2025 => 2025-07-20T20:00+09:00"}},
	{"The briefing is at 9:30 a.m. Tokyo time on June 5.", []string{"9:30 a.m. Tokyo time on June 5 => 2025-06-05T09:30+09:00"}},
	{"Washington will host the talks on June 10 at 3 p.m. Eastern Time.", []string{"June 10 at 3 p.m. Eastern Time => 2025-06-10T15:00-04:00"}},

	// Written after the extractor, without looking at its code paths.
	{"The vote is scheduled for Sunday, July 20th.", []string{"July 20th => 2025-07-20"}},
	{"Japan will hold an upper house election on 20 July.", []string{"20 July => 2025-07-20"}},
	{"On Jan. 24, the ordinary Diet session convened.", []string{"Jan. 24 => 2025-01-24"}},
	{"The deadline, originally July 9, was pushed to Aug. 1.", []string{"July 9 => 2025-07-09", "Aug. 1 => 2025-08-01"}},
	{"Between June 30 and July 2, officials met in Tokyo.", []string{"June 30 => 2025-06-30", "July 2 => 2025-07-02"}},
	{"By mid-2026, Japan aims to finalize the plan.", []string{"mid-2026 => 2026"}},
	{"The agreement, signed Sept. 4, 2025, takes effect seven days later.", []string{"Sept. 4, 2025 => 2025-09-04"}},
	{"The vote is expected on or around July 20.", []string{"July 20 => 2025-07-20"}},
	{"The poll, conducted June 13-15, showed support at 32 percent.", []string{"June 13 => 2025-06-13", "15 => 2025-06-15"}},
	{"In 2024, Japan's nominal GDP topped 600 trillion yen.", []string{"2024 => 2024"}},
	{"Ishiba's term as LDP president runs through September 2027.", []string{"September 2027 => 2027-09"}},
	{"The House passed the bill 218-214 on July 3.", []string{"July 3 => 2025-07-03"}},
	{"The next upper house election is due in July 2028.", []string{"July 2028 => 2028-07"}},
	{"The FOMC meets July 29-30.", []string{"July 29 => 2025-07-29", "30 => 2025-07-30"}},
	{"Trade talks resumed Tuesday in Washington.", nil},
	{"The Osaka Expo opened April 13 and closes October 13.", []string{"April 13 => 2025-04-13", "October 13 => 2025-10-13"}},
	{"Results are due 2025-08-15 at 08:50 JST.", []string{"2025-08-15 at 08:50 JST => 2025-08-15T08:50+09:00"}},
	{"The MOF releases trade data at 8:50 a.m. JST on Aug. 20.", []string{"8:50 a.m. JST on Aug. 20 => 2025-08-20T08:50+09:00"}},
	{"CPI for May 2025 rose 3.7% from a year earlier.", []string{"May 2025 => 2025-05"}},
	{"The yen weakened past 160 per dollar in late June.", []string{"late June => 2025-06"}},
	{"The Nikkei closed at 38,500 on Friday.", nil},
	{"与野党は25日の衆院本会議で採決することで合意した。", []string{"25日 => 2025-05-25"}},
	{"政府は、来年1月召集の通常国会に法案を提出する方針だ。", []string{"来年1月 => 2026-01"}},
	{"選挙戦は17日間の日程で行われる。", nil},
	{"調査は7月から8月にかけて実施する。", []string{"7月 => 2025-07", "8月 => 2025-08"}},
	{"同日午後、首相は官邸で記者会見した。", nil},
	{"今年7月の参院選で与党は過半数を割り込んだ。", []string{"今年7月 => 2025-07"}},
	{"昨年10月の衆院選で自民党は大きく議席を減らした。", []string{"昨年10月 => 2024-10"}},
	{"令和6年能登半島地震から1年半が経過した。", []string{"令和6年 => 2024"}},
	{"首相は週明けの16日にも表明する見通しだ。", []string{"16日 => 2025-06-16"}},
	{"政府は来週にも閣議決定する。", nil},
	{"工事は7月下旬から8月上旬にかけて行う。", []string{"7月下旬 => 2025-07", "8月上旬 => 2025-08"}},
	{"受付は午前10時から午後5時まで（土日祝日を除く）。", nil},
	{"募集期間は令和7年7月1日から令和7年9月30日まで。", []string{"令和7年7月1日 => 2025-07-01", "令和7年9月30日 => 2025-09-30"}},
	{"令和7年度第1次補正予算案を国会に提出した。", []string{"令和7年度 => JFY2025"}},
	{"2025年度から2027年度までの3年間で実施する。", []string{"2025年度 => JFY2025", "2027年度 => JFY2027"}},
	{"投票日：７月２０日（日）", []string{"７月２０日 => 2025-07-20"}},
	{"開催日時　2025年8月1日（金）13:30～15:00", []string{"2025年8月1日（金）13:30 => 2025-08-01T13:30+09:00"}},
	{"会場は東京都千代田区霞が関3-2-1です。", nil},
	{"Data released on the 15th showed exports falling.", nil},
	{"首相は1日、国会で答弁した。", []string{"1日 => 2025-06-01"}},
	{"法案は6月中に成立する見通しだ。", []string{"6月 => 2025-06"}},
	{"政府は2月に方針を示す。", []string{"2月 => 2026-02"}},
	{"The ministry said on Thursday that talks would resume on June 23.", []string{"June 23 => 2025-06-23"}},
	{"Ishiba and Trump spoke by phone on the evening of June 16 (Japan time).", []string{"June 16 => 2025-06-16"}},
	{"第27回参議院議員通常選挙（2025年7月20日執行）", []string{"2025年7月20日 => 2025-07-20"}},
	{"Talks will focus on a fiscal year (FY) 2026 budget around the new year, as Japan's FY2026 starts on April 1, 2026.", []string{"fiscal year (FY) 2026 => JFY2026", "FY2026 => JFY2026", "April 1, 2026 => 2026-04-01"}},
	{"The Senate has yet to take up fiscal year (FY) 2026 appropriations.", []string{"fiscal year (FY) 2026 => USFY2026"}},
	{"The summit, originally set for early March, was moved to April.", []string{"early March => 2025-03", "April => 2025-04"}},
	{"The 2+2 meeting is set for July.", []string{"July => 2025-07"}},
	{"The office is open from 9:00 to 17:00 on July 1.", []string{"9:00 to 17:00 on July 1 => 2025-07-01T09:00+09:00"}},
	{"Inflation could pick up in the spring of 2026.", []string{"2026 => 2026"}},
	{"Invoice No. 2025-07 was paid.", nil},
	{"The plan covers the years from 2025 to 2030.", []string{"2025 => 2025", "2030 => 2030"}},
	{"A force of 2500 troops and a population of 2000 people.", nil},
	{"令和 7 年 7 月 20 日執行の選挙。", []string{"令和 7 年 7 月 20 日 => 2025-07-20"}},
	{"７月２０日（日）午後２時から開票します。", []string{"７月２０日（日）午後２時 => 2025-07-20T14:00+09:00"}},

	// English negatives.
	{"Upgrade to version 2025.07 or build 20250720.", nil},
	{"Call (202) 225-3121 or +81-3-3581-0101 for details.", nil},
	{"See page 12 and pp. 20-25 of the report.", nil},
	{"Read more at https://www.mofa.go.jp/na/na1/us/page1e_000123.html?date=2025-07-20 for the readout.", nil},
	{"Minutes are in 2025-07-20_minutes.pdf on the server.", nil},
	{"Order #2025-07-20 has shipped.", nil},
	{"Write to press2025-07@example.jp with questions.", nil},
	{"The app requires Python 3.12.4 and Go 1.22.", nil},
	{"Section 7.20 of the agreement covers tariffs.", nil},
	{"The bill is H.R. 2025 in the current Congress.", nil},
	{"Around 2,000 people attended the rally.", nil},
	{"Polls open at 7 a.m. and close at 8 p.m.", nil},
	{"Flight JL7 departs at 10:30.", nil},
	{"The final score was 7-20.", nil},
	{"May I ask about the schedule?", nil},
	{"Room 2025 in Building 7 is reserved.", nil},
	{"The API returned id=2025-07-20T10:00:00Z in the payload.", nil},
	{"Windows 11 24H2 ships this fall.", nil},
	{"See https://example.org/2025/07/20/summit-readout for details.", nil},
	{"The document number is IN12466, updated in version 3.", nil},
}

// TestCorpusPrecisionRecall runs the extractor over the corpus and
// requires precision and recall of at least 0.95 (issue 12).
func TestCorpusPrecisionRecall(t *testing.T) {
	if len(corpus) < 150 {
		t.Fatalf("corpus has %d sentences, want at least 150", len(corpus))
	}
	var tp, fp, fn, negatives int
	for _, c := range corpus {
		if len(c.want) == 0 {
			negatives++
		}
		var got []string
		for _, m := range Extract(c.text, Options{Ref: corpusRef}) {
			got = append(got, m.Text+" => "+m.Due.Raw)
		}
		want := slices.Clone(c.want)
		var missed, extra []string
		for _, g := range got {
			if k := slices.Index(want, g); k >= 0 {
				want = slices.Delete(want, k, k+1)
				tp++
			} else {
				extra = append(extra, g)
			}
		}
		missed = want
		fp += len(extra)
		fn += len(missed)
		if len(extra) > 0 || len(missed) > 0 {
			t.Logf("%s\n\tmissed: %s\n\textra:  %s", c.text, strings.Join(missed, "; "), strings.Join(extra, "; "))
		}
	}
	precision := float64(tp) / float64(tp+fp)
	recall := float64(tp) / float64(tp+fn)
	t.Logf("corpus: %d sentences (%d negatives), %d expected dates: precision %.3f (%d/%d), recall %.3f (%d/%d)",
		len(corpus), negatives, tp+fn, precision, tp, tp+fp, recall, tp, tp+fn)
	if precision < 0.95 || recall < 0.95 {
		t.Errorf("precision %.3f, recall %.3f: want both at least 0.95", precision, recall)
	}
}

func mustZone(name string) *time.Location {
	l, err := time.LoadLocation(name)
	if err != nil {
		panic(fmt.Sprintf("zone %s: %v", name, err))
	}
	return l
}
