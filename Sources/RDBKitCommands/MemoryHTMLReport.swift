/// The self-contained HTML page of `rdbkit memory --format html`.
///
/// The page is one file: inline CSS, vanilla JavaScript and the report JSON itself, embedded in
/// `<script type="application/json" id="report-data">`. It loads nothing (a Content-Security-Policy forbids it), so it
/// can be mailed or opened offline. The script draws everything from the embedded JSON: header and totals, a zoomable
/// icicle chart of the prefix tree (`#prefix-chart`, SVG), tables of the biggest keys and prefixes, and bar charts by
/// type, encoding, database, expiry and element count.
///
/// ```swift
/// let html = MemoryHTMLReport.render(reportJSON: json, title: "dump.rdb")
/// // <title>rdbkit memory report — dump.rdb</title>
/// ```
///
/// The JSON is the `rdbkit memory --format json` report, passed through byte for byte except that `<`, `>` and `&`
/// become `\u003c`, `\u003e` and `\u0026`. In valid JSON those bytes occur only inside strings, where the escapes mean
/// the same characters, so a key such as `</script>` cannot close the element early.
///
/// When the script has drawn the page it sets `document.body.dataset.rendered` to `"ok"`. Any uncaught error (for
/// example JSON that does not parse) is written into `#render-error` and sets it to `"error"`.
///
/// Lazy by design: the chart draws only the focused node and the four levels below it, and only blocks at least two
/// pixels wide (the narrower rest of a level is one grey block); tables show their first rows. A tree of 100,000
/// prefixes therefore draws a few thousand SVG elements at most.
enum MemoryHTMLReport {
    /// The start of every page title.
    static let titlePrefix = "rdbkit memory report — "

    /// Renders the page.
    ///
    /// - Parameters:
    ///   - reportJSON: the UTF-8 JSON report (the schema of `rdbkit memory --format json`).
    ///   - title: the name of the file the report is about, usually its last path component; the page is titled
    ///     `rdbkit memory report — <title>`. A title that already starts with that text is used as it is.
    /// - Returns: the UTF-8 bytes of the HTML file.
    /// - Complexity: O(*n*) in the size of `reportJSON`.
    static func render(reportJSON: [UInt8], title: String) -> [UInt8] {
        let fullTitle = title.hasPrefix(titlePrefix) ? title : titlePrefix + title
        var out: [UInt8] = []
        out.reserveCapacity(reportJSON.count + pageStart.utf8.count + pageEnd.utf8.count + 512)
        out += Array("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>".utf8)
        out += Array(escapeHTML(fullTitle).utf8)
        out += Array("</title>\n".utf8)
        out += Array(pageStart.utf8)
        appendEmbeddedJSON(reportJSON, to: &out)
        out += Array(pageEnd.utf8)
        return out
    }

    /// Escapes text for an HTML text node or a quoted attribute value.
    static func escapeHTML(_ text: String) -> String {
        var result = ""
        result.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "\"": result += "&quot;"
            case "'": result += "&#39;"
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    /// Appends `json` with `<`, `>` and `&` written as JSON `\u` escapes, so the text cannot end the `<script>`
    /// element that holds it nor open an HTML comment.
    static func appendEmbeddedJSON(_ json: [UInt8], to out: inout [UInt8]) {
        for byte in json {
            switch byte {
            case UInt8(ascii: "<"): out += lessThanEscape
            case UInt8(ascii: ">"): out += greaterThanEscape
            case UInt8(ascii: "&"): out += ampersandEscape
            default: out.append(byte)
            }
        }
    }

    private static let lessThanEscape = Array(#"\u003c"#.utf8)
    private static let greaterThanEscape = Array(#"\u003e"#.utf8)
    private static let ampersandEscape = Array(#"\u0026"#.utf8)

    // MARK: The page

    /// Everything after `<title>`, up to the embedded JSON.
    private static let pageStart = #"""
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="generator" content="rdbkit">
        <meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
        <style>
        :root {
          --bg: #f4f6f9; --panel: #ffffff; --ink: #1e293b; --muted: #64748b; --faint: #94a3b8; --line: #e2e8f0;
          --line-strong: #cbd5e1; --accent: #2563eb; --accent-soft: #eff6ff; --head: #0f172a;
          --warn-bg: #fffbeb; --warn-line: #f59e0b; --ok-bg: #f0fdf4; --ok-line: #22c55e;
          --sans: -apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, "Helvetica Neue", Arial, "Liberation Sans", "Noto Sans", system-ui, sans-serif;
          --mono: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", "DejaVu Sans Mono", monospace;
          color-scheme: light;
        }
        * { box-sizing: border-box; }
        html { -webkit-text-size-adjust: 100%; }
        body { margin: 0; background: var(--bg); color: var(--ink); font: 14px/1.45 var(--sans); }
        .wrap { max-width: 1360px; margin: 0 auto; padding: 0 28px; }
        button { font: inherit; }
        #render-error { background: #fef2f2; color: #991b1b; border-bottom: 1px solid #fca5a5; padding: 12px 28px;
          font: 13px/1.5 var(--mono); white-space: pre-wrap; }
        #render-error[hidden] { display: none; }

        header.top { background: linear-gradient(120deg, #0f172a 0%, #1e293b 60%, #1e3a5f 100%); color: #e2e8f0;
          padding: 22px 0 64px; }
        .brand { font-size: 11.5px; font-weight: 600; letter-spacing: .12em; text-transform: uppercase; color: #7dd3fc; }
        header h1 { margin: 4px 0 12px; font-size: 26px; font-weight: 650; color: #fff; overflow-wrap: anywhere; }
        .meta { display: flex; flex-wrap: wrap; gap: 6px 10px; font-size: 13px; }
        .chip { background: rgba(148, 163, 184, .16); border: 1px solid rgba(148, 163, 184, .25); border-radius: 999px;
          padding: 2px 10px; color: #cbd5e1; white-space: nowrap; }
        .chip b { color: #fff; font-weight: 600; }
        .calibration { margin-top: 10px; font-size: 12.5px; color: #94a3b8; }
        .calibration b { color: #cbd5e1; font-weight: 600; }

        main { margin-top: -44px; padding-bottom: 28px; }
        .cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(190px, 1fr)); gap: 14px; }
        .card { background: var(--panel); border: 1px solid var(--line); border-radius: 10px; padding: 13px 16px 12px;
          box-shadow: 0 1px 2px rgba(15, 23, 42, .06), 0 4px 14px rgba(15, 23, 42, .05); min-width: 0; }
        .card .label { font-size: 11.5px; font-weight: 600; color: var(--muted); text-transform: uppercase;
          letter-spacing: .06em; }
        .card .value { font-size: 25px; font-weight: 650; margin-top: 2px; font-variant-numeric: tabular-nums;
          white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
        .card .sub { font-size: 12.5px; color: var(--muted); white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
        .card .sub .k { font-family: var(--mono); font-size: 12px; color: var(--ink); }

        .panel { background: var(--panel); border: 1px solid var(--line); border-radius: 10px; padding: 16px 20px 18px;
          margin-top: 16px; box-shadow: 0 1px 2px rgba(15, 23, 42, .05); min-width: 0; }
        .panel-head { display: flex; align-items: baseline; justify-content: space-between; gap: 12px; flex-wrap: wrap;
          margin-bottom: 10px; }
        h2 { margin: 0; font-size: 17px; font-weight: 650; }
        h3 { margin: 0 0 8px; font-size: 13.5px; font-weight: 650; color: var(--ink); }
        h3 .sel { font-family: var(--mono); font-weight: 600; color: var(--accent); }
        .hint { font-size: 12.5px; color: var(--muted); }
        .hint code, .note code { font-family: var(--mono); font-size: 12px; background: #f1f5f9; border-radius: 4px;
          padding: 0 4px; }

        #breadcrumb { display: flex; flex-wrap: wrap; align-items: center; gap: 2px; margin: 0 0 10px; font-size: 13px; }
        #breadcrumb button { border: 0; background: none; color: var(--accent); cursor: pointer; padding: 2px 6px;
          border-radius: 5px; font-family: var(--mono); font-size: 12.5px; }
        #breadcrumb button:hover { background: var(--accent-soft); }
        #breadcrumb .here { font-family: var(--mono); font-size: 12.5px; font-weight: 700; padding: 2px 6px;
          background: #f1f5f9; border-radius: 5px; }
        #breadcrumb .sep { color: var(--faint); }
        #breadcrumb .root { font-family: var(--sans); }

        #prefix-chart { width: 100%; min-height: 60px; }
        #prefix-chart svg { display: block; user-select: none; }
        svg text { font-family: var(--sans); font-size: 12px; }
        .icicle .node { cursor: pointer; }
        .icicle .node rect { stroke: #fff; stroke-width: 1; }
        .icicle .node:hover rect { stroke: #0f172a; stroke-width: 1.5; }
        .icicle .node.other rect { stroke: #94a3b8; }
        .icicle .node.focus rect { stroke: none; }
        .icicle .node.leaf.focus { cursor: default; }
        .icicle .rest rect { fill: #e2e8f0; stroke: #fff; }
        .icicle .dim { opacity: .72; }
        .icicle .zoomout { font-size: 11.5px; opacity: .8; }
        .empty-bg { fill: #f8fafc; stroke: var(--line); stroke-dasharray: 4 4; }
        .empty-text { fill: var(--muted); font-size: 14px; }
        .legend { display: flex; flex-wrap: wrap; gap: 4px 18px; margin-top: 8px; font-size: 12px; color: var(--muted); }
        .legend i { display: inline-block; width: 12px; height: 12px; border-radius: 3px; vertical-align: -2px;
          margin-right: 5px; }
        .legend .sw-other { background: repeating-linear-gradient(45deg, #e5e7eb 0 3px, #9ca3af 3px 5px); }
        .legend .sw-rest { background: #e2e8f0; }
        .legend .sw-gap { background: #fff; border: 1px dashed var(--line-strong); }

        .note { margin-top: 12px; padding: 9px 13px; border-radius: 8px; font-size: 13px; border-left: 4px solid; }
        .note.warn { background: var(--warn-bg); border-color: var(--warn-line); }
        .note.ok { background: var(--ok-bg); border-color: var(--ok-line); }
        .note b { font-weight: 650; }

        .split { display: grid; grid-template-columns: minmax(0, 5fr) minmax(0, 7fr); gap: 22px; margin-top: 18px; }
        @media (max-width: 1100px) { .split { grid-template-columns: minmax(0, 1fr); } }

        .charts { display: grid; grid-template-columns: repeat(3, minmax(0, 1fr)); gap: 16px; margin-top: 16px; }
        .charts .panel { margin-top: 0; }
        .charts .span2 { grid-row: span 2; }
        @media (max-width: 1100px) { .charts { grid-template-columns: minmax(0, 1fr); } .charts .span2 { grid-row: auto; } }
        .section-head { display: flex; align-items: center; justify-content: space-between; margin-top: 26px; gap: 12px; }
        .bars .lbl { fill: var(--ink); }
        .bars .val { fill: var(--ink); font-variant-numeric: tabular-nums; }
        .bars .val .dim { fill: var(--muted); }
        .bars .track { fill: #f1f5f9; }
        .bars .hit { fill: transparent; }
        .bars .bar:hover .hit { fill: #f8fafc; }
        .bars .nodata { fill: var(--muted); font-size: 13px; }

        .seg { display: inline-flex; border: 1px solid var(--line-strong); border-radius: 7px; overflow: hidden;
          background: #fff; }
        .seg button { border: 0; background: none; padding: 4px 12px; font-size: 12.5px; color: var(--muted);
          cursor: pointer; }
        .seg button + button { border-left: 1px solid var(--line-strong); }
        .seg button[aria-pressed="true"] { background: var(--head); color: #fff; }
        .tabs { display: flex; flex-wrap: wrap; gap: 6px; margin-bottom: 10px; }
        .tabs button { border: 1px solid var(--line-strong); background: #fff; color: var(--ink); border-radius: 999px;
          padding: 3px 12px; font-size: 12.5px; cursor: pointer; }
        .tabs button .n { color: var(--muted); margin-left: 4px; }
        .tabs button[aria-selected="true"] { background: var(--head); border-color: var(--head); color: #fff; }
        .tabs button[aria-selected="true"] .n { color: #cbd5e1; }

        .table-wrap { overflow-x: auto; border: 1px solid var(--line); border-radius: 8px; }
        table.data { width: 100%; border-collapse: collapse; font-size: 13px; font-variant-numeric: tabular-nums; }
        table.data th { text-align: left; font-weight: 600; font-size: 11.5px; color: var(--muted); text-transform: uppercase;
          letter-spacing: .04em; background: #f8fafc; border-bottom: 1px solid var(--line); padding: 7px 9px;
          white-space: nowrap; position: sticky; top: 0; }
        table.data th.sortable { cursor: pointer; }
        table.data th.sortable:hover { color: var(--ink); }
        table.data td { padding: 6px 9px; border-bottom: 1px solid #f1f5f9; vertical-align: top; }
        table.data tbody tr:last-child td { border-bottom: 0; }
        table.data tbody tr:hover td { background: #f8fafc; }
        table.data tr.clickable { cursor: pointer; }
        table.data tr.clickable:focus { outline: 2px solid var(--accent); outline-offset: -2px; }
        table.data .num { text-align: right; white-space: nowrap; }
        table.data th.num { text-align: right; }
        table.data td.key, table.data td.prefix { font-family: var(--mono); font-size: 12.5px; white-space: pre-wrap;
          overflow-wrap: anywhere; }
        table.data td.key { min-width: 22ch; }
        table.data td.prefix { min-width: 20ch; position: relative; padding-bottom: 9px; }
        table.data td.prefix .cellbar { position: absolute; left: 9px; bottom: 4px; height: 3px; border-radius: 2px;
          background: var(--accent); opacity: .55; }
        table.data td.muted { color: var(--muted); white-space: nowrap; }
        table.data td.rank { color: var(--faint); }
        table.data tr.empty td { text-align: center; color: var(--muted); padding: 18px; }
        .esc { color: #b45309; background: #fef3c7; border-radius: 3px; padding: 0 2px; }
        .more-text { color: var(--faint); }
        .empty-key { color: var(--faint); font-style: italic; }
        .parent-part { color: var(--faint); }
        .badge { display: inline-block; padding: 0 7px; border-radius: 999px; font-size: 11.5px; font-weight: 600;
          line-height: 18px; white-space: nowrap; }
        .badge.folded { background: #e5e7eb; color: #374151; margin-left: 6px; font-family: var(--sans); }
        button.more { margin-top: 8px; border: 1px solid var(--line-strong); background: #fff; border-radius: 7px;
          padding: 4px 12px; font-size: 12.5px; cursor: pointer; color: var(--ink); }
        button.more:hover { background: #f8fafc; }
        .cap { font-size: 12px; color: var(--muted); margin-top: 6px; }

        #tooltip { position: fixed; z-index: 10; pointer-events: none; max-width: 420px; background: #0f172a; color: #e2e8f0;
          border-radius: 8px; padding: 9px 12px; font-size: 12.5px; box-shadow: 0 8px 24px rgba(15, 23, 42, .3); }
        #tooltip[hidden] { display: none; }
        #tooltip .tt-title { font-family: var(--mono); font-weight: 700; color: #fff; margin-bottom: 4px;
          overflow-wrap: anywhere; white-space: pre-wrap; }
        #tooltip table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
        #tooltip th { text-align: left; font-weight: 400; color: #94a3b8; padding: 1px 12px 1px 0; white-space: nowrap; }
        #tooltip td { text-align: right; padding: 1px 0; white-space: nowrap; }
        #tooltip .tt-note { margin-top: 6px; color: #fcd34d; max-width: 380px; }
        #tooltip .tt-hint { margin-top: 5px; color: #7dd3fc; font-size: 11.5px; }

        footer { color: var(--muted); font-size: 12px; padding: 6px 0 30px; }
        </style>
        <script>
        window.onerror = function (message, source, line, column, error) {
          try {
            var box = document.getElementById("render-error");
            if (!box && document.body) {
              box = document.createElement("div");
              box.id = "render-error";
              document.body.insertBefore(box, document.body.firstChild);
            }
            var text = String(message);
            if (line) text += " (line " + line + (column ? ":" + column : "") + ")";
            if (box) { box.hidden = false; box.textContent = "This report could not be rendered: " + text; }
            if (document.body) document.body.dataset.rendered = "error";
          } catch (ignored) {}
          return false;
        };
        </script>
        </head>
        <body data-rendered="pending">
        <div id="render-error" role="alert" hidden></div>
        <noscript><p class="wrap">This report is drawn by JavaScript: please open it in a browser with scripts enabled.</p></noscript>
        <header class="top">
          <div class="wrap">
            <div class="brand">rdbkit · memory report</div>
            <h1 id="file-name"></h1>
            <div class="meta" id="meta"></div>
            <div class="calibration" id="calibration"></div>
          </div>
        </header>
        <main class="wrap">
          <section class="cards" id="totals" aria-label="Totals"></section>

          <section class="panel" id="prefix-panel" aria-labelledby="prefix-heading">
            <div class="panel-head">
              <h2 id="prefix-heading">Memory by key prefix</h2>
              <div class="hint" id="prefix-info"></div>
            </div>
            <nav id="breadcrumb" aria-label="Selected prefix"></nav>
            <div id="prefix-chart"></div>
            <div class="legend">
              <span>Width ∝ estimated memory. Click a block to zoom in, the top bar or the path above to zoom out (Esc).</span>
              <span><i class="sw-other"></i>folded “other”</span>
              <span><i class="sw-rest"></i>prefixes too narrow to draw</span>
              <span><i class="sw-gap"></i>keys ending at the prefix itself</span>
            </div>
            <div id="folded-note"></div>
            <div class="split">
              <div>
                <h3 id="prefix-table-title"></h3>
                <div id="prefix-table"></div>
              </div>
              <div>
                <h3 id="prefix-keys-title"></h3>
                <div id="prefix-keys-table"></div>
              </div>
            </div>
          </section>

          <div class="section-head">
            <h2>Breakdown</h2>
            <div class="seg" id="metric" role="group" aria-label="Measure bars by">
              <button type="button" data-metric="bytes" aria-pressed="true">Memory</button>
              <button type="button" data-metric="keys" aria-pressed="false">Keys</button>
            </div>
          </div>
          <div class="charts">
            <section class="panel"><h3>By type</h3><div id="type-chart"></div></section>
            <section class="panel" id="encoding-panel"><h3>By encoding</h3><div id="encoding-chart"></div></section>
            <section class="panel"><h3>By database</h3><div id="db-chart"></div></section>
            <section class="panel"><h3>By time to expiry</h3><div id="expiry-chart"></div></section>
            <section class="panel"><h3>By element count</h3><div id="element-chart"></div></section>
          </div>

          <section class="panel" id="top-keys-panel" aria-labelledby="top-keys-heading">
            <div class="panel-head">
              <h2 id="top-keys-heading">Biggest keys</h2>
              <div class="hint">Estimated memory per key, as <code>MEMORY USAGE</code> would report it.</div>
            </div>
            <div class="tabs" id="top-keys-tabs" role="tablist"></div>
            <div id="top-keys-table"></div>
          </section>
        </main>
        <footer class="wrap" id="footer"></footer>
        <div id="tooltip" role="tooltip" hidden></div>
        <script type="application/json" id="report-data">
        """# + "\n"

    /// Everything after the embedded JSON: the script that draws the page.
    private static let pageEnd = "\n" + #"""
        </script>
        <script>
        (function () {
          "use strict";
          const started = performance.now();
          const D = JSON.parse(document.getElementById("report-data").textContent);
          const $ = (id) => document.getElementById(id);
          const SVGNS = "http://www.w3.org/2000/svg";

          // ---- DOM helpers (text always goes in as text, never as markup) ----
          function setAttrs(e, attrs) {
            if (!attrs) return;
            for (const k of Object.keys(attrs)) {
              const v = attrs[k];
              if (v === null || v === undefined || v === false) continue;
              if (k === "text") e.textContent = String(v);
              else if (k.startsWith("on") && typeof v === "function") e.addEventListener(k.slice(2), v);
              else e.setAttribute(k, v === true ? "" : String(v));
            }
          }
          function add(e, kids) {
            for (const k of kids) {
              if (k === null || k === undefined || k === false) continue;
              if (Array.isArray(k)) add(e, k);
              else e.appendChild(typeof k === "object" ? k : document.createTextNode(String(k)));
            }
            return e;
          }
          function el(tag, attrs, ...kids) { const e = document.createElement(tag); setAttrs(e, attrs); return add(e, kids); }
          function sv(tag, attrs, ...kids) { const e = document.createElementNS(SVGNS, tag); setAttrs(e, attrs); return add(e, kids); }

          // ---- formatting ----
          const UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
          function isNum(n) { return typeof n === "number" && isFinite(n); }
          function num(n) {
            if (!isNum(n)) return "—";
            return String(Math.round(n)).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
          }
          function bytes(n) {
            if (!isNum(n)) return "—";
            const sign = n < 0 ? "−" : "";
            let v = Math.abs(n), i = 0;
            while (v >= 1024 && i < UNITS.length - 1) { v /= 1024; i++; }
            if (i === 0) return sign + Math.round(v) + " B";
            let digits = v < 10 ? 2 : v < 100 ? 1 : 0;
            if (Number(v.toFixed(digits)) >= 1024 && i < UNITS.length - 1) { v /= 1024; i++; digits = 2; }
            return sign + v.toFixed(digits) + " " + UNITS[i];
          }
          function exactBytes(n) { return isNum(n) ? num(n) + " bytes" : "—"; }
          function pct(part, whole) {
            if (!isNum(part) || !isNum(whole) || whole <= 0) return "—";
            const p = part / whole * 100;
            if (p === 0) return "0%";
            if (p < 0.1) return "<0.1%";
            if (p >= 99.95 && part < whole) return ">99.9%";
            if (p >= 99.95) return "100%";
            return p.toFixed(1) + "%";
          }
          function plural(n, one, many) { return num(n) + " " + (n === 1 ? one : many); }
          const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;
          function hex2(c) { return "\\x" + c.charCodeAt(0).toString(16).padStart(2, "0"); }
          function printable(s) { return String(s).replace(CONTROL, hex2); }
          function fit(s, n) {
            if (s.length <= n) return s;
            const chars = Array.from(s);
            if (chars.length <= n) return s;
            return n <= 1 ? "…" : chars.slice(0, n - 1).join("") + "…";
          }
          // A key as DOM nodes: control bytes shown as \xNN in a marked span, long keys cut with an ellipsis.
          function keyNodes(key, max) {
            let s = String(key);
            if (s.length === 0) return [el("span", { class: "empty-key", text: "(empty)" })];
            let cut = false;
            if (max && s.length > max) { s = Array.from(s).slice(0, max).join(""); cut = true; }
            const out = [];
            let last = 0;
            s.replace(CONTROL, (m, at) => {
              if (at > last) out.push(s.slice(last, at));
              out.push(el("span", { class: "esc", text: hex2(m) }));
              last = at + 1;
              return m;
            });
            if (last < s.length) out.push(s.slice(last));
            if (cut) out.push(el("span", { class: "more-text", text: "…" }));
            return out;
          }
          function expiryText(ms) {
            if (!isNum(ms)) return "—";
            const d = new Date(ms);
            if (isNaN(d.getTime())) return String(ms);
            return d.toISOString().slice(0, 16).replace("T", " ") + " UTC";
          }
          function relativeTime(ms) {
            if (!isNum(ms)) return "";
            const s = (ms - Date.now()) / 1000, a = Math.abs(s);
            const unit = a < 90 ? [a, "s"] : a < 5400 ? [a / 60, "min"] : a < 129600 ? [a / 3600, "h"] :
              a < 86400 * 60 ? [a / 86400, "days"] : [a / 86400 / 365.25, "years"];
            const t = (unit[0] < 10 ? unit[0].toFixed(1) : Math.round(unit[0])) + " " + unit[1];
            return s < 0 ? t + " ago (from now)" : "in " + t + " (from now)";
          }

          // ---- colours ----
          const PALETTE = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7",
            "#9c755f", "#86bcb6"];
          const TYPE_COLORS = { string: "#4e79a7", list: "#f28e2b", set: "#59a14f", zset: "#e15759", sortedset: "#e15759",
            "sorted-set": "#e15759", hash: "#76b7b2", stream: "#b07aa1", module: "#9c755f" };
          function hashColor(name) {
            let h = 0;
            for (const c of String(name)) h = (h * 31 + c.codePointAt(0)) >>> 0;
            return PALETTE[h % PALETTE.length];
          }
          function typeColor(t) { return TYPE_COLORS[String(t).toLowerCase()] || hashColor(t); }
          function shade(hex, t) {
            const n = parseInt(hex.slice(1), 16);
            const r = Math.round((n >> 16) + (255 - (n >> 16)) * t);
            const g = Math.round(((n >> 8) & 255) + (255 - ((n >> 8) & 255)) * t);
            const b = Math.round((n & 255) + (255 - (n & 255)) * t);
            const lum = 0.299 * r + 0.587 * g + 0.114 * b;
            return { css: "rgb(" + r + "," + g + "," + b + ")", ink: lum > 150 ? "#1e293b" : "#ffffff" };
          }

          // ---- tooltip ----
          const tip = $("tooltip");
          const tips = new WeakMap();
          function tipBox(title, rows, note, hint) {
            return [
              el("div", { class: "tt-title", text: title }),
              el("table", null, rows.filter(Boolean).map(([k, v]) => el("tr", null, el("th", { text: k }), el("td", { text: v })))),
              note ? el("div", { class: "tt-note", text: note }) : null,
              hint ? el("div", { class: "tt-hint", text: hint }) : null,
            ];
          }
          function placeTip(e) {
            const pad = 14, r = tip.getBoundingClientRect();
            let x = e.clientX + pad, y = e.clientY + pad;
            if (x + r.width > window.innerWidth - 6) x = e.clientX - r.width - pad;
            if (y + r.height > window.innerHeight - 6) y = e.clientY - r.height - pad;
            tip.style.left = Math.max(4, x) + "px";
            tip.style.top = Math.max(4, y) + "px";
          }
          let tipTarget = null;
          document.addEventListener("mousemove", (e) => {
            const t = e.target && e.target.closest ? e.target.closest("[data-tip]") : null;
            if (!t || !tips.has(t)) { tipTarget = null; tip.hidden = true; return; }
            if (t !== tipTarget) { tipTarget = t; tip.replaceChildren(...tips.get(t)().filter(Boolean)); tip.hidden = false; }
            placeTip(e);
          });
          document.addEventListener("mouseleave", () => { tipTarget = null; tip.hidden = true; });
          function hideTip() { tipTarget = null; tip.hidden = true; }

          // ---- data ----
          const totals = D.totals || {};
          const TOTAL_KEYS = isNum(totals.keys) ? totals.keys : 0;
          const TOTAL_BYTES = isNum(totals.bytes) ? totals.bytes : 0;
          const model = D.model || {};
          const tree = D.prefix_tree || {};
          const ROOT = tree.root || { prefix: "", keys: 0, bytes: 0, top_keys: [], children: [] };
          const SEPARATORS = Array.isArray(tree.separators) ? tree.separators : [];
          const topKeys = Array.isArray(D.top_keys) ? D.top_keys : [];

          // ---- header and totals ----
          $("file-name").textContent = printable(D.file ?? "");
          const chip = (label, value) => el("span", { class: "chip" }, label + " ", el("b", { text: value }));
          add($("meta"), [
            chip("File size", bytes(D.file_size) + (isNum(D.file_size) && D.file_size >= 1024 ? " (" + exactBytes(D.file_size) + ")" : "")),
            chip("Model", [model.server, model.allocator].filter(Boolean).join(" · ") || "—"),
            chip("Prefix separators", SEPARATORS.length ? SEPARATORS.map((s) => "“" + printable(s) + "”").join(" ") : "none"),
            chip("Prefix depth", isNum(tree.depth) ? String(tree.depth) : "—"),
          ]);
          if (model.note) add($("calibration"), [el("b", { text: "Calibration: " }), model.note]);

          const card = (label, value, sub, title) =>
            el("div", { class: "card", title: title || null }, el("div", { class: "label", text: label }),
              el("div", { class: "value", text: value }), el("div", { class: "sub" }, sub));
          const dbCount = (D.by_db || []).filter((d) => (d.keys || 0) > 0).length;
          const expiring = isNum(totals.keys_with_expiry) ? totals.keys_with_expiry : 0;
          const biggest = topKeys[0];
          add($("totals"), [
            card("Keys", num(TOTAL_KEYS), dbCount ? "in " + plural(dbCount, "database", "databases") : "no databases"),
            card("Estimated memory", bytes(TOTAL_BYTES),
              exactBytes(TOTAL_BYTES) + (D.file_size > 0 && TOTAL_BYTES > 0 ? " · " + (TOTAL_BYTES / D.file_size).toFixed(1) + "× the file" : "")),
            card("Average per key", TOTAL_KEYS ? bytes(TOTAL_BYTES / TOTAL_KEYS) : "—", "estimated, all types"),
            card("Keys with expiry", num(expiring), TOTAL_KEYS ? pct(expiring, TOTAL_KEYS) + " of keys" : "no keys"),
            card("Biggest key", biggest ? bytes(biggest.bytes) : "—",
              biggest ? [el("span", { class: "k" }, keyNodes(biggest.key, 60)), " · " + (biggest.type || "")] : "no keys",
              biggest ? printable(biggest.key) : null),
          ]);

          // ---- tables ----
          const ROW_CAP = 1000;
          function dataTable(host, cols, rows, opts) {
            const st = { col: -1, dir: 1, expanded: false, limit: opts.limit || 20 };
            const items = rows.map((r, i) => ({ r, i }));
            function cmp(x, y) {
              if (typeof x === "number" && typeof y === "number") return x - y;
              x = String(x); y = String(y);
              return x < y ? -1 : x > y ? 1 : 0;
            }
            function ordered() {
              if (st.col < 0) return items;
              const c = cols[st.col];
              return items.slice().sort((p, q) => {
                const x = c.sort(p.r), y = c.sort(q.r);
                const xn = x === null || x === undefined, yn = y === null || y === undefined;
                if (xn || yn) return xn && yn ? p.i - q.i : xn ? 1 : -1;
                return cmp(x, y) * st.dir || p.i - q.i;
              });
            }
            function draw() {
              const head = el("tr");
              cols.forEach((c, ci) => {
                const th = el("th", { scope: "col", class: [c.num ? "num" : "", c.sort ? "sortable" : ""].join(" ").trim() || null,
                  title: c.help || (c.sort ? "Sort by " + c.label.toLowerCase() : null) }, c.label);
                if (c.sort) {
                  if (st.col === ci) th.appendChild(document.createTextNode(st.dir < 0 ? " ▾" : " ▴"));
                  th.addEventListener("click", () => {
                    if (st.col === ci) st.dir = -st.dir; else { st.col = ci; st.dir = c.num ? -1 : 1; }
                    draw();
                  });
                }
                head.appendChild(th);
              });
              const body = el("tbody");
              const all = ordered();
              const shown = all.slice(0, st.expanded ? ROW_CAP : st.limit);
              if (!all.length) body.appendChild(el("tr", { class: "empty" }, el("td", { colspan: cols.length, text: opts.empty })));
              for (const it of shown) {
                const tr = el("tr");
                if (opts.onRow) {
                  tr.className = "clickable";
                  tr.tabIndex = 0;
                  tr.addEventListener("click", () => opts.onRow(it.r));
                  tr.addEventListener("keydown", (e) => { if (e.key === "Enter") opts.onRow(it.r); });
                }
                for (const c of cols) {
                  tr.appendChild(el("td", { class: [c.num ? "num" : "", c.cls || ""].join(" ").trim() || null, title: c.title ? c.title(it.r) : null },
                    c.cell(it.r, it.i)));
                }
                body.appendChild(tr);
              }
              const parts = [el("div", { class: "table-wrap" }, el("table", { class: "data" }, el("thead", null, head), body))];
              if (all.length > st.limit) {
                parts.push(el("button", { class: "more", type: "button",
                  text: st.expanded ? "Show the first " + num(st.limit) : "Show " + (all.length > ROW_CAP ? "the first " + num(ROW_CAP) + " of " : "all ") + num(all.length),
                  onclick: () => { st.expanded = !st.expanded; draw(); } }));
              }
              host.replaceChildren(...parts);
            }
            draw();
          }
          function typeBadge(t) {
            const c = shade(typeColor(t || "?"), 0.78);
            return el("span", { class: "badge", style: "background:" + c.css + ";color:#1e293b", text: t || "—" });
          }
          function expiryCell(ms) {
            if (!isNum(ms)) return "—";
            return expiryText(ms);
          }
          function keyColumns(compact) {
            const cols = [
              { label: "#", num: true, cls: "rank", cell: (r, i) => String(i + 1) },
              { label: "DB", num: true, cell: (r) => isNum(r.db) ? String(r.db) : "—", sort: (r) => r.db },
              { label: "Key", cls: "key", cell: (r) => keyNodes(r.key ?? "", 300), sort: (r) => String(r.key ?? "") },
              { label: "Type", cell: (r) => typeBadge(r.type), sort: (r) => r.type },
              { label: "Encoding", cls: "muted", cell: (r) => r.encoding ?? "—", sort: (r) => r.encoding },
              { label: "Memory", num: true, cell: (r) => bytes(r.bytes), sort: (r) => r.bytes, title: (r) => exactBytes(r.bytes) },
              { label: "Share", num: true, cell: (r) => pct(r.bytes, TOTAL_BYTES), help: "Share of the estimated memory of the whole file" },
              { label: "Elements", num: true, cell: (r) => num(r.elements), sort: (r) => r.elements },
              { label: "Largest element", num: true, cell: (r) => bytes(r.largest), sort: (r) => r.largest,
                help: "Size of the largest element (field, member or list entry)" },
              { label: "Expiry", cls: "muted", cell: (r) => expiryCell(r.expire_ms), sort: (r) => r.expire_ms,
                title: (r) => isNum(r.expire_ms) ? relativeTime(r.expire_ms) : "no expiry" },
            ];
            return compact ? cols.filter((c) => c.label !== "Encoding" && c.label !== "Largest element") : cols;
          }

          // ---- prefix tree: focus path, icicle, tables ----
          let focusPath = [ROOT];
          const focus = () => focusPath[focusPath.length - 1];
          const sortedKids = new WeakMap();
          function kids(n) {
            let c = sortedKids.get(n);
            if (!c) {
              c = Array.isArray(n.children) ? n.children.slice().sort((a, b) => (b.bytes || 0) - (a.bytes || 0)) : [];
              sortedKids.set(n, c);
            }
            return c;
          }
          function relativeName(node, parent) {
            if (node.other) return "other";
            const p = String(node.prefix ?? ""), pp = parent ? String(parent.prefix ?? "") : "";
            if (!parent) return p === "" ? "All keys" : p;
            return printable(p.startsWith(pp) && p.length > pp.length ? p.slice(pp.length) : p);
          }
          function fullName(node, parent) {
            if (node.other) return "other (folded" + (parent && parent.prefix ? " under " + printable(parent.prefix) : "") + ")";
            return node.prefix ? printable(node.prefix) : "All keys";
          }
          const FOLD_NOTE = "Folded remainder: prefixes that did not fit the budget of " + num(tree.max_prefixes) +
            " tracked prefixes, added up." + (tree.error_bound_bytes > 0 ? " Heavy-hitter error bound: ±" + bytes(tree.error_bound_bytes) + " per prefix." : "");
          function nodeTip(node, parent) {
            const n = kids(node).length;
            return () => tipBox(fullName(node, parent), [
              ["Keys", num(node.keys) + "  (" + pct(node.keys, TOTAL_KEYS) + ")"],
              ["Estimated memory", bytes(node.bytes)],
              ["Share of all memory", pct(node.bytes, TOTAL_BYTES)],
              parent && parent !== ROOT ? ["Share of " + fit(fullName(parent, null), 28), pct(node.bytes, parent.bytes)] : null,
              node.keys > 0 ? ["Average per key", bytes(node.bytes / node.keys)] : null,
              n ? ["Sub-prefixes", num(n)] : null,
            ], node.other ? FOLD_NOTE : null, node === focus() ? (focusPath.length > 1 ? "Click to zoom out" : null) : "Click to zoom in");
          }

          const ROW_H = 34, LEVELS = 5, MIN_W = 2, CHAR_W = 6.9;
          const parentOf = new WeakMap();
          const nodeOf = new WeakMap();
          function renderIcicle() {
            const host = $("prefix-chart");
            const W = Math.max(320, Math.floor(host.clientWidth || 1000));
            const f = focus();
            const svg = sv("svg", { class: "icicle", width: W, role: "img", "aria-label": "Icicle chart of memory by key prefix" });
            svg.appendChild(sv("defs", null,
              sv("pattern", { id: "hatch", width: 7, height: 7, patternUnits: "userSpaceOnUse", patternTransform: "rotate(45)" },
                sv("rect", { width: 7, height: 7, fill: "#e5e7eb" }), sv("line", { x1: 0, y1: 0, x2: 0, y2: 7, stroke: "#9ca3af", "stroke-width": 3 }))));
            if (!(f.bytes > 0) && !(f.keys > 0) && kids(f).length === 0) {
              svg.setAttribute("height", 110);
              svg.setAttribute("viewBox", "0 0 " + W + " 110");
              svg.appendChild(sv("rect", { x: 0.5, y: 0.5, width: W - 1, height: 109, rx: 8, class: "empty-bg" }));
              svg.appendChild(sv("text", { x: W / 2, y: 60, "text-anchor": "middle", class: "empty-text",
                text: TOTAL_KEYS === 0 ? "No keys: the file is empty." : "No memory under this prefix." }));
              host.replaceChildren(svg);
              return;
            }
            let maxDepth = 0;
            const layer = sv("g");
            function label(g, x, y, w, ink, main, extra) {
              if (w < 26) return;
              const room = Math.floor((w - 12) / CHAR_W);
              const t = sv("text", { x: x + 6, y: y + ROW_H / 2 + 3, fill: ink });
              if (extra && main.length + extra.length + 2 <= room) {
                t.appendChild(sv("tspan", { text: main, "font-weight": 600 }));
                t.appendChild(sv("tspan", { class: "dim", text: "  " + extra }));
              } else {
                t.appendChild(sv("tspan", { text: fit(main, room), "font-weight": 600 }));
              }
              g.appendChild(t);
            }
            function draw(node, parent, x, w, depth, base) {
              maxDepth = Math.max(maxDepth, depth);
              const y = depth * ROW_H;
              const ch = kids(node);
              const g = sv("g", { class: "node" + (node.other ? " other" : "") + (depth === 0 ? " focus" : "") +
                (depth === 0 && focusPath.length === 1 ? " leaf" : ""), "data-tip": "1" });
              let fill, ink;
              if (depth === 0) { fill = "#334155"; ink = "#f8fafc"; }
              else if (node.other) { fill = "url(#hatch)"; ink = "#1e293b"; }
              else { const c = shade(base, Math.min(0.66, (depth - 1) * 0.24)); fill = c.css; ink = c.ink; }
              g.appendChild(sv("rect", { x: x, y: y, width: Math.max(0.8, w - 1), height: ROW_H - 2, rx: 3, fill }));
              if (depth === 0) {
                const main = fullName(node, focusPath.length > 1 ? focusPath[focusPath.length - 2] : null);
                label(g, x, y, w - 110, ink, main, plural(node.keys || 0, "key", "keys") + " · " + bytes(node.bytes) +
                  (focusPath.length > 1 ? " · " + pct(node.bytes, TOTAL_BYTES) + " of all memory" : ""));
                if (focusPath.length > 1) g.appendChild(sv("text", { x: x + w - 10, y: y + ROW_H / 2 + 3, fill: ink,
                  "text-anchor": "end", class: "zoomout", text: "↑ zoom out" }));
              } else {
                label(g, x, y, w, ink, relativeName(node, parent), bytes(node.bytes));
              }
              nodeOf.set(g, node);
              if (parent) parentOf.set(node, parent);
              tips.set(g, nodeTip(node, parent));
              layer.appendChild(g);
              if (depth >= LEVELS - 1 || ch.length === 0) return;
              let sum = 0;
              for (const c of ch) sum += Math.max(0, c.bytes || 0);
              const denom = Math.max(node.bytes || 0, sum);
              if (!(denom > 0)) return;
              let cx = x, i = 0;
              for (; i < ch.length; i++) {
                const cw = w * Math.max(0, ch[i].bytes || 0) / denom;
                if (cw < MIN_W) break;
                draw(ch[i], node, cx, cw, depth + 1, depth === 0 ? PALETTE[i % PALETTE.length] : base);
                cx += cw;
              }
              if (i < ch.length) {
                let rb = 0, rk = 0;
                for (let j = i; j < ch.length; j++) { rb += Math.max(0, ch[j].bytes || 0); rk += ch[j].keys || 0; }
                const rw = w * rb / denom, count = ch.length - i;
                if (rw >= 0.5) {
                  const rg = sv("g", { class: "rest", "data-tip": "1" });
                  rg.appendChild(sv("rect", { x: cx, y: y + ROW_H, width: Math.max(0.8, rw - 1), height: ROW_H - 2, rx: 2 }));
                  if (rw >= 40) label(rg, cx, y + ROW_H, rw, "#475569", "+" + num(count));
                  tips.set(rg, () => tipBox(num(count) + " smaller prefixes under " + fullName(node, null), [
                    ["Keys", num(rk)], ["Estimated memory", bytes(rb)], ["Share of all memory", pct(rb, TOTAL_BYTES)],
                  ], null, "Too narrow to draw: zoom into " + fit(fullName(node, null), 40) + " to list them in the table below."));
                  layer.appendChild(rg);
                  maxDepth = Math.max(maxDepth, depth + 1);
                }
              }
            }
            draw(f, focusPath.length > 1 ? focusPath[focusPath.length - 2] : null, 0, W, 0, PALETTE[0]);
            if (maxDepth === 0) {
              layer.appendChild(sv("text", { x: 6, y: ROW_H + ROW_H / 2 + 3, class: "empty-text", "font-size": 13,
                text: f.other ? "Folded prefixes are not broken down further." : "No sub-prefixes: the keys under this prefix are listed below." }));
              maxDepth = 1;
            }
            const H = (maxDepth + 1) * ROW_H;
            svg.setAttribute("height", H);
            svg.setAttribute("viewBox", "0 0 " + W + " " + H);
            svg.appendChild(layer);
            svg.addEventListener("click", (e) => {
              const g = e.target.closest("g.node");
              if (!g) return;
              const n = nodeOf.get(g);
              if (n === focus()) { if (focusPath.length > 1) setFocus(focusPath.slice(0, -1)); return; }
              const chain = [];
              for (let m = n; m && m !== focus(); m = parentOf.get(m)) chain.push(m);
              setFocus(focusPath.concat(chain.reverse()));
            });
            host.replaceChildren(svg);
          }

          function renderBreadcrumb() {
            const nav = $("breadcrumb");
            const parts = [];
            focusPath.forEach((n, i) => {
              const name = i === 0 ? "All keys" : relativeName(n, focusPath[i - 1]);
              if (i > 0) parts.push(el("span", { class: "sep", text: "›" }));
              if (i === focusPath.length - 1) parts.push(el("span", { class: "here" + (i === 0 ? " root" : ""), "aria-current": "page", text: name }));
              else parts.push(el("button", { type: "button", class: i === 0 ? "root" : null, text: name,
                onclick: () => setFocus(focusPath.slice(0, i + 1)) }));
            });
            nav.replaceChildren(...parts);
          }

          function renderPrefixTables() {
            const f = focus();
            const parent = focusPath.length > 1 ? focusPath[focusPath.length - 2] : null;
            const where = f === ROOT ? null : fullName(f, parent);
            $("prefix-table-title").replaceChildren(...(where ? ["Prefixes under ", el("span", { class: "sel", text: where })] : ["Top-level prefixes"]));
            $("prefix-keys-title").replaceChildren(...(where ? ["Biggest keys under ", el("span", { class: "sel", text: where })] : ["Biggest keys, all prefixes"]));
            const ch = kids(f);
            const maxB = ch.length ? Math.max(1, ch[0].bytes || 0) : 1;
            dataTable($("prefix-table"), [
              { label: "Prefix", cls: "prefix", sort: (n) => String(n.prefix ?? ""), cell: (n) => {
                const bar = el("span", { class: "cellbar", style: "width:calc((100% - 18px) * " + (Math.max(0, n.bytes || 0) / maxB).toFixed(4) + ")" });
                if (n.other) return [el("span", { class: "parent-part", text: printable(f.prefix || "") }), "other", el("span", { class: "badge folded", text: "folded" }), bar];
                const p = String(n.prefix ?? ""), pp = String(f.prefix ?? "");
                return [p.startsWith(pp) && pp ? [el("span", { class: "parent-part" }, keyNodes(pp)), keyNodes(p.slice(pp.length))] : keyNodes(p), bar];
              } },
              { label: "Keys", num: true, cell: (n) => num(n.keys), sort: (n) => n.keys },
              { label: "Memory", num: true, cell: (n) => bytes(n.bytes), sort: (n) => n.bytes, title: (n) => exactBytes(n.bytes) },
              { label: "Share", num: true, cell: (n) => pct(n.bytes, TOTAL_BYTES), help: "Share of the estimated memory of the whole file" },
              { label: "Avg / key", num: true, cell: (n) => n.keys > 0 ? bytes(n.bytes / n.keys) : "—", sort: (n) => n.keys > 0 ? n.bytes / n.keys : null },
            ], ch, { limit: 12, empty: f.keys > 0 ? "No deeper prefixes: these keys end here." : "No prefixes.",
              onRow: (n) => setFocus(focusPath.concat([n])) });
            dataTable($("prefix-keys-table"), keyColumns(true), Array.isArray(f.top_keys) ? f.top_keys : [],
              { limit: 12, empty: f.other ? "Keys of folded prefixes are not listed one by one." : "No keys." });
          }

          function setFocus(path) {
            focusPath = path;
            hideTip();
            renderBreadcrumb();
            renderIcicle();
            renderPrefixTables();
            const f = focus();
            const hash = focusPath.length > 1 && !f.other ? "#prefix=" + encodeURIComponent(f.prefix ?? "") : "";
            if (location.hash !== hash && (hash || location.hash)) {
              try { history.replaceState(null, "", hash || location.pathname + location.search); } catch (ignored) {}
            }
          }
          document.addEventListener("keydown", (e) => {
            if (e.key === "Escape" && focusPath.length > 1) setFocus(focusPath.slice(0, -1));
          });
          // `#prefix=<URI-encoded prefix>` opens the page zoomed into that prefix (or its longest known ancestor).
          function pathFromHash() {
            const m = /^#prefix=(.*)$/.exec(location.hash);
            let target = null;
            if (m) { try { target = decodeURIComponent(m[1]); } catch (ignored) {} }
            const path = [ROOT];
            if (!target) return path;
            for (let n = ROOT; ;) {
              const next = (Array.isArray(n.children) ? n.children : []).find((c) =>
                !c.other && typeof c.prefix === "string" && c.prefix.length > (n.prefix || "").length && target.startsWith(c.prefix));
              if (!next) return path;
              path.push(next);
              if (next.prefix === target) return path;
              n = next;
            }
          }
          window.addEventListener("hashchange", () => {
            const path = pathFromHash();
            if (path[path.length - 1] !== focus()) setFocus(path);
          });

          // The folded part of the tree, said in words.
          (function foldedNote() {
            const fk = tree.folded_keys || 0, fb = tree.folded_bytes || 0, eb = tree.error_bound_bytes || 0;
            const box = $("folded-note");
            const bound = eb > 0 ? [" Heavy-hitter error bound: the memory of any prefix shown may be off by up to ",
              el("b", { text: "±" + bytes(eb) }), " (" + exactBytes(eb) + ")."] : [];
            if (fk > 0 || fb > 0) {
              box.replaceChildren(el("div", { class: "note warn" }, el("b", { text: "Folded: " }),
                plural(fk, "key", "keys") + " (" + pct(fk, TOTAL_KEYS) + " of keys) and " + bytes(fb) + " (" + pct(fb, TOTAL_BYTES) +
                " of memory) are in prefixes beyond the budget of " + num(tree.max_prefixes) +
                " tracked prefixes; they are added up in the hatched “other” blocks.", bound));
            } else {
              box.replaceChildren(el("div", { class: "note ok" }, el("b", { text: "Nothing folded: " }),
                "every prefix up to depth " + (tree.depth ?? "—") + " fits the budget of " + num(tree.max_prefixes) + " tracked prefixes.", bound));
            }
            const named = kids(ROOT).filter((c) => !c.other).length, others = kids(ROOT).length - named;
            $("prefix-info").textContent = TOTAL_KEYS ? num(ROOT.keys) + " keys · " + bytes(ROOT.bytes) + " · " +
              plural(named, "top-level prefix", "top-level prefixes") + (others ? " + folded “other”" : "") : "";
          })();

          // ---- bar charts ----
          let metric = "bytes";
          const CHARTS = [
            { id: "type-chart", data: D.by_type, color: (r) => typeColor(r.name), label: (r) => r.name },
            { id: "encoding-chart", data: D.by_encoding, color: (r) => typeColor(String(r.name).split("/")[0]), label: (r) => r.name },
            { id: "db-chart", data: D.by_db, color: () => "#4e79a7", label: (r) => "db " + r.name },
            { id: "expiry-chart", data: D.expiry_histogram, keepOrder: true, label: (r) => r.name,
              color: (r) => r.name === "none" ? "#94a3b8" : r.name === "expired" ? "#e15759" : "#f28e2b" },
            { id: "element-chart", data: D.element_histogram, keepOrder: true, color: () => "#59a14f", label: (r) => r.name },
          ];
          function barChart(spec) {
            const host = $(spec.id);
            const W = Math.max(240, Math.floor(host.clientWidth || 380));
            const rows = (Array.isArray(spec.data) ? spec.data : []).map((x) => ({
              name: String(x.name ?? ""), keys: isNum(x.keys) ? x.keys : 0, bytes: isNum(x.bytes) ? x.bytes : 0 }));
            if (!spec.keepOrder) rows.sort((a, b) => b[metric] - a[metric] || (a.name < b.name ? -1 : 1));
            const ROW = 26, PAD = 3;
            if (!rows.length) {
              host.replaceChildren(sv("svg", { class: "bars", width: W, height: 40, viewBox: "0 0 " + W + " 40" },
                sv("text", { x: 0, y: 24, class: "nodata", text: "No data" })));
              return;
            }
            const labels = rows.map((r) => printable(spec.label(r)));
            const longest = labels.reduce((m, s) => Math.max(m, s.length), 0);
            const labelW = Math.min(Math.max(56, longest * 6.8 + 14), Math.floor(W * 0.4));
            const valueW = 150;
            const barW = Math.max(30, W - labelW - valueW);
            const max = rows.reduce((m, r) => Math.max(m, r[metric]), 0);
            const sum = rows.reduce((m, r) => m + r[metric], 0);
            const H = rows.length * ROW + PAD * 2;
            const svg = sv("svg", { class: "bars", width: W, height: H, viewBox: "0 0 " + W + " " + H, role: "img" });
            rows.forEach((r, i) => {
              const y = PAD + i * ROW;
              const g = sv("g", { class: "bar", "data-tip": "1" });
              g.appendChild(sv("rect", { class: "hit", x: 0, y: y, width: W, height: ROW, rx: 4 }));
              g.appendChild(sv("text", { class: "lbl", x: labelW - 10, y: y + ROW / 2 + 4, "text-anchor": "end",
                text: fit(labels[i], Math.floor((labelW - 14) / 6.8)) }));
              g.appendChild(sv("rect", { class: "track", x: labelW, y: y + 6, width: barW, height: ROW - 12, rx: 3 }));
              const v = r[metric];
              const bw = max > 0 ? Math.max(v > 0 ? 2 : 0, barW * v / max) : 0;
              if (bw > 0) g.appendChild(sv("rect", { x: labelW, y: y + 6, width: bw, height: ROW - 12, rx: 3, fill: spec.color(r) }));
              const t = sv("text", { class: "val", x: W - 2, y: y + ROW / 2 + 4, "text-anchor": "end" });
              t.appendChild(sv("tspan", { text: metric === "bytes" ? bytes(v) : num(v) }));
              t.appendChild(sv("tspan", { class: "dim", text: "  " + pct(v, sum).padStart(5, " ") }));
              g.appendChild(t);
              tips.set(g, () => tipBox(labels[i], [
                ["Keys", num(r.keys) + "  (" + pct(r.keys, TOTAL_KEYS) + ")"],
                ["Estimated memory", bytes(r.bytes) + "  (" + pct(r.bytes, TOTAL_BYTES) + ")"],
                r.keys > 0 ? ["Average per key", bytes(r.bytes / r.keys)] : null,
              ]));
              svg.appendChild(g);
            });
            host.replaceChildren(svg);
          }
          function renderCharts() { for (const c of CHARTS) barChart(c); }
          // The encoding chart, usually the longest, takes two rows of the grid when it has more bars than fit one.
          if (Array.isArray(D.by_encoding) && D.by_encoding.length > 7) $("encoding-panel").classList.add("span2");
          for (const b of document.querySelectorAll("#metric button")) {
            b.addEventListener("click", () => {
              metric = b.dataset.metric;
              for (const o of document.querySelectorAll("#metric button")) o.setAttribute("aria-pressed", String(o === b));
              renderCharts();
            });
          }

          // ---- biggest keys, all and by type ----
          (function topKeysSection() {
            const byType = D.top_keys_by_type && typeof D.top_keys_by_type === "object" ? D.top_keys_by_type : {};
            const tabs = [{ name: "All types", rows: topKeys }].concat(Object.keys(byType).sort().map((t) => ({ name: t, rows: byType[t] || [] })));
            let current = 0;
            function draw() {
              $("top-keys-tabs").replaceChildren(...tabs.map((t, i) => el("button", { type: "button", role: "tab",
                "aria-selected": String(i === current), onclick: () => { current = i; draw(); } }, t.name, el("span", { class: "n", text: num(t.rows.length) }))));
              dataTable($("top-keys-table"), keyColumns(false), tabs[current].rows, { limit: 25, empty: "No keys." });
            }
            draw();
          })();

          $("footer").textContent = "Generated by rdbkit from " + printable(D.file ?? "") + ". Memory figures are estimates of the " +
            ([model.server, model.allocator].filter(Boolean).join(" / ") || "server") +
            " memory model, not measurements. This page is self-contained and loads nothing from the network.";

          setFocus(pathFromHash());
          renderCharts();

          let lastWidth = document.documentElement.clientWidth, resizeTimer = 0;
          window.addEventListener("resize", () => {
            clearTimeout(resizeTimer);
            resizeTimer = setTimeout(() => {
              if (document.documentElement.clientWidth === lastWidth) return;
              lastWidth = document.documentElement.clientWidth;
              renderIcicle();
              renderCharts();
            }, 120);
          });

          document.body.dataset.renderMs = String(Math.round(performance.now() - started));
          if (document.body.dataset.rendered !== "error") document.body.dataset.rendered = "ok";
        })();
        </script>
        </body>
        </html>

        """#
}
