import { CHART_FONT } from './report-charts.js';

/** The report page's stylesheet: light, readable, printable; system fonts only (nothing is fetched). */
export const REPORT_CSS = `
:root { color-scheme: light; --ink: #1f2937; --muted: #6b7280; --line: #e5e7eb; --soft: #f9fafb;
  --red: #b91c1c; --red-bg: #fef2f2; --blue: #1d4ed8; --blue-bg: #eff6ff; --green: #047857; --green-bg: #ecfdf5; }
* { box-sizing: border-box; }
body { margin: 0; background: #fff; color: var(--ink); font: 15px/1.5 ${CHART_FONT}; }
main { max-width: 1040px; margin: 0 auto; padding: 32px 24px 64px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 19px; margin: 40px 0 12px; padding-bottom: 6px; border-bottom: 1px solid var(--line); }
h3 { font-size: 16px; margin: 24px 0 8px; }
.sub, .note { color: var(--muted); }
.note { font-size: 14px; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 13px; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; margin: 20px 0 8px; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: 12px 16px; min-width: 150px; background: var(--soft); }
.card .label { color: var(--muted); font-size: 13px; }
.card .value { font-size: 26px; font-weight: 600; font-variant-numeric: tabular-nums; }
.card.robust .value { color: var(--red); }
.banner { border-radius: 8px; padding: 10px 14px; margin: 16px 0; font-weight: 600; }
.banner.warning { background: var(--red-bg); color: var(--red); border: 1px solid #fecaca; }
.banner.ok { background: var(--green-bg); color: var(--green); border: 1px solid #a7f3d0; }
.flag { border-left: 4px solid; border-radius: 4px; padding: 10px 14px; margin: 10px 0; }
.flag.warning { border-color: var(--red); background: var(--red-bg); }
.flag.info { border-color: var(--blue); background: var(--blue-bg); }
.flag h3 { margin: 0 0 4px; font-size: 15px; }
.flag .severity { text-transform: uppercase; font-size: 11px; letter-spacing: 0.05em; margin-right: 8px; }
.flag.warning .severity { color: var(--red); }
.flag.info .severity { color: var(--blue); }
.flag p { margin: 4px 0; }
.flag .id { color: var(--muted); font-size: 12px; }
table { border-collapse: collapse; margin: 8px 0 16px; font-size: 14px; }
th, td { padding: 5px 12px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
th { background: var(--soft); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.total td { font-weight: 600; border-top: 2px solid var(--ink); }
.chart { overflow-x: auto; }
.chart svg { max-width: 100%; height: auto; }
details summary { cursor: pointer; color: var(--muted); margin: 8px 0; }
.gallery { display: flex; flex-wrap: wrap; gap: 16px; }
.example { margin: 0; padding: 8px; border: 1px solid var(--line); border-radius: 8px; }
.example .panels { display: flex; gap: 4px; }
.example .panels div { display: flex; flex-direction: column; align-items: center; }
.example .panels span { font-size: 11px; color: var(--muted); }
.example img { image-rendering: pixelated; background: #000; }
.example figcaption { font-size: 13px; margin-top: 4px; }
.example b.changed, .example.broken .outcome { color: var(--red); }
.example.robust .outcome { color: var(--green); }
.example.wrong .outcome { color: var(--muted); }
dl.env { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; font-size: 14px; }
dl.env dt { color: var(--muted); }
dl.env dd { margin: 0; overflow-wrap: anywhere; }
pre { background: #111827; color: #f9fafb; padding: 12px 16px; border-radius: 8px; overflow-x: auto; white-space: pre-wrap; }
footer { margin-top: 48px; color: var(--muted); font-size: 12px; }
`;
