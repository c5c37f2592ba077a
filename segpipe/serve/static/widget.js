/* The seed's "Top Performing Segments" card and a page per segment, in plain JavaScript.
 *
 * Routes live in the URL hash: "#/" is the card, "#/segments/ID" a segment's page;
 * the card's choices ride along as "#/?metric=…&days=…&as_of=…&limit=…" so a reload
 * or a shared link shows the same thing. Data comes from this server's /api (relative
 * URLs); when it answers 401 the page asks for a token, keeps it for this browser tab
 * (sessionStorage) and sends it as "Authorization: Bearer …". Charts use the vendored
 * uPlot (static/vendor/uplot). Nothing is loaded from another host.
 */
"use strict";

const METRICS = {
  reply_rate: { label: "Reply rate", count: "replied", denominator: "leads_sent" },
  open_rate: { label: "Open rate", count: "opened", denominator: "leads_sent" },
  bounce_rate: { label: "Bounce rate", count: "bounced", denominator: "leads_sent" },
  click_rate: { label: "Click rate", count: "clicked", denominator: "clicks_tracked" },
  conversion_rate: { label: "Conversion rate", count: "converted", denominator: "conversions_tracked" },
};
/* The orders of SPEC §7's --rank-by: "wilson" and "shrunk" keep a 1-of-1 segment at 100 % off the top. */
const RANKINGS = {
  rate: "Highest rate",
  wilson: "Surest (95 % bound)",
  shrunk: "Shrunk to the average",
};
const WINDOWS = [7, 30, 90, 365];
const LIMITS = [5, 10, 25, 100];
const TOKEN_KEY = "segpipe-token";
/* A token travels in an "Authorization: Bearer" header, so it holds printable ASCII only (serve
   refuses any other token at start). fetch throws a TypeError for one outside ISO-8859-1 and
   the server knows none of the rest, so such a token is asked for again, as one it refused. */
const SENDABLE = /^[!-~]+$/;
const REJECTED = "The server did not accept that token. Check it and try again.";
const UNSENDABLE = "Your browser cannot send that token: a token holds only letters, digits and punctuation "
  + "(printable ASCII). Check it and try again.";
const main = document.getElementById("main");

class Unauthorized extends Error {}

/* --- small helpers ------------------------------------------------------------------------ */

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined) node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

/* A user's value inside a sentence, as one isolated run of text (U+2068 … U+2069): a right-to-left
   override in a filter value or a name would otherwise reverse the words after it. */
function isolate(text) {
  return `\u2068${text}\u2069`;
}

function fmtInt(n) {
  return n === null || n === undefined ? "–" : Number(n).toLocaleString("en-US");
}

function fmtPercent(rate) {
  return rate === null || rate === undefined ? "–" : `${(rate * 100).toFixed(2)} %`;
}

/* A rate as a percentage with its count and denominator beside it: "13.87 % (43 of 310)";
   `notes` (the ranked metric's interval, its shrunk rate) go on lines of their own. */
function rateCell(rate, count, denominator, notes = []) {
  const cell = el("td", { class: "num rate" }, el("span", { class: "pct" }, fmtPercent(rate)));
  if (count !== undefined && denominator !== undefined) {
    cell.append(" ", el("span", { class: "of" }, `(${fmtInt(count)} of ${fmtInt(denominator)})`));
  }
  for (const note of notes) cell.append(el("span", { class: "note" }, note));
  return cell;
}

/* What the ranked metric's cell adds under a --rank-by other than rate: its Wilson interval
   and, for "shrunk", the shrunk rate it was ranked by. */
function rankingNotes(segment, metric, rankBy) {
  if (rankBy === "rate") return [];
  const low = segment[`${metric}_low`], high = segment[`${metric}_high`];
  const notes = [low === null || low === undefined ? "95 %: –"
    : `95 %: ${(low * 100).toFixed(2)}–${(high * 100).toFixed(2)} %`];
  if (rankBy === "shrunk") notes.push(`shrunk: ${fmtPercent(segment[`${metric}_shrunk`])}`);
  return notes;
}

function rankingCaption(metric, rankBy) {
  const label = METRICS[metric].label.toLowerCase();
  if (rankBy === "wilson") {
    return metric === "bounce_rate"
      ? `Segments ranked by the upper end of the ${label}'s 95 % interval, lowest first, so a small sample cannot top the list`
      : `Segments ranked by the lower end of the ${label}'s 95 % interval, so a small sample cannot top the list`;
  }
  if (rankBy === "shrunk") {
    return `Segments ranked by the ${label} shrunk toward the average of all ranked segments, so a small sample cannot top the list`;
  }
  return `Segments ranked by ${label}`;
}

function parseRoute() {
  const hash = location.hash.replace(/^#/, "") || "/";
  const [path, query] = hash.split("?");
  const params = new URLSearchParams(query || "");
  // ?as_of=… on the page's own URL is a default for every view (handy for demo data).
  const page = new URLSearchParams(location.search);
  if (!params.has("as_of") && page.get("as_of")) params.set("as_of", page.get("as_of"));
  const segment = path.match(/^\/segments\/([^/]+)$/);
  return { view: segment ? "segment" : "card", segment: segment ? decodeURIComponent(segment[1]) : null, params };
}

function hashFor(path, params) {
  const query = new URLSearchParams([...params].filter(([, v]) => v !== "" && v !== null)).toString();
  return `#${path}${query ? "?" + query : ""}`;
}

/* --- talking to the API ------------------------------------------------------------------ */

async function api(path, params = {}) {
  const query = new URLSearchParams(Object.entries(params).filter(([, v]) => v !== "" && v !== null && v !== undefined));
  const headers = { Accept: "application/json" };
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token && !SENDABLE.test(token)) throw new Unauthorized(UNSENDABLE);
  if (token) headers.Authorization = `Bearer ${token}`;
  const response = await fetch(`api/${path}${query.toString() ? "?" + query : ""}`, { headers });
  if (response.status === 401) throw new Unauthorized();
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = new Error(body.detail || `${response.status} ${response.statusText}`);
    error.status = response.status;
    throw error;
  }
  return body;
}

/* `rejected`: why the last token failed (REJECTED, UNSENDABLE), or false for the first ask. */
function tokenForm(retry, rejected) {
  const input = el("input", { id: "token", type: "password", autocomplete: "off", required: true,
                              "aria-describedby": "token-help" });
  const form = el("form", { id: "token-form", class: "card", dataset: rejected ? { rejected: "true" } : {},
    onsubmit: (event) => {
      event.preventDefault();
      sessionStorage.setItem(TOKEN_KEY, input.value.trim());
      retry();
    } },
    el("h1", { tabindex: "-1" }, "API token needed"),
    el("p", { id: "token-help" }, rejected
      || "This server only answers with a token. It is kept in this browser tab only."),
    el("label", { for: "token" }, "Token"), input,
    el("button", { type: "submit" }, "Show segments"));
  main.replaceChildren(form);
  input.focus();
}

function showError(where, error) {
  where.replaceChildren(el("p", { class: "error", role: "alert" }, error.message));
}

/* Run a view; a 401 asks for a token and runs it again. While it runs, body[data-ready] is
   "false"; then "true" (for tests and assistive tools: the page is drawn). */
async function guarded(view) {
  document.body.dataset.ready = "false";
  try {
    await view();
  } catch (error) {
    if (error instanceof Unauthorized) {
      const hadToken = Boolean(sessionStorage.getItem(TOKEN_KEY));
      sessionStorage.removeItem(TOKEN_KEY);
      tokenForm(() => guarded(view), hadToken && (error.message || REJECTED));
    } else {
      showError(main, error);
    }
  } finally {
    document.body.dataset.ready = "true";
  }
}

/* --- the card ---------------------------------------------------------------------------- */

function select(id, label, options, value, onchange) {
  return el("label", { for: id }, label,
    el("select", { id, onchange },
      options.map(([v, text]) => el("option", { value: v, selected: String(v) === String(value) }, text))));
}

async function renderCard(params) {
  const metric = METRICS[params.get("metric")] ? params.get("metric") : "reply_rate";
  const days = params.get("days") || "30";
  const limit = params.get("limit") || "5";
  const asOf = params.get("as_of") || "";
  const rankBy = RANKINGS[params.get("rank_by")] ? params.get("rank_by") : "rate";

  const update = (key) => (event) => {
    params.set(key, event.target.value);
    location.hash = hashFor("/", params);
  };
  const windows = WINDOWS.includes(Number(days)) ? WINDOWS : [...WINDOWS, Number(days)].sort((a, b) => a - b);
  const controls = el("form", { class: "controls", onsubmit: (e) => e.preventDefault() },
    select("metric", "Metric", Object.entries(METRICS).map(([k, m]) => [k, m.label]), metric, update("metric")),
    select("rank_by", "Ranking", Object.entries(RANKINGS), rankBy, update("rank_by")),
    select("days", "Window", windows.map((d) => [d, `Last ${d} days`]), days, update("days")),
    select("limit", "Show", LIMITS.map((n) => [n, `Top ${n}`]), limit, update("limit")),
    el("label", { for: "as-of" }, "Ending",
      el("input", { id: "as-of", type: "date", value: asOf, onchange: update("as_of") })));

  // The card and its selectors are drawn first and stay whatever the API answers: while it
  // loads the results say so, and an error (a bad window, no published file yet) takes the
  // table's place, so another choice can mend it.
  const results = el("div", { id: "card-results", "aria-busy": "true" }, el("p", { class: "loading" }, "Loading segments…"));
  main.replaceChildren(el("section", { class: "card", "aria-labelledby": "card-title" },
    el("h1", { id: "card-title", tabindex: "-1" }, "Top Performing Segments"),
    controls,
    results));
  let data;
  try {
    data = await api("dashboard/top-segments",
      { metric, days, limit, as_of: asOf, rank_by: rankBy === "rate" ? "" : rankBy });
  } catch (error) {
    if (error instanceof Unauthorized) throw error;
    results.removeAttribute("aria-busy");
    showError(results, error);
    return;
  }

  const extra = metric === "click_rate" || metric === "conversion_rate" ? metric : null;
  const columns = ["#", "Segment", "Sent", "Opened", "Replied", "Bounced", "Open rate", "Reply rate", "Bounce rate"];
  if (extra) columns.push(METRICS[extra].label);
  const rows = data.segments.map((s, i) => el("tr", { dataset: { segmentId: s.segment_id } },
    el("td", { class: "num" }, i + 1),
    el("th", { scope: "row", class: "name" },
      // the card's choices ride along: the page charts the card's metric, and "back" restores them
      el("a", { href: hashFor(`/segments/${s.segment_id}`, params) },
        s.segment_name)),
    el("td", { class: "num", dataset: { key: "leads_sent" } }, fmtInt(s.leads_sent)),
    el("td", { class: "num", dataset: { key: "opened" } }, fmtInt(s.opened)),
    el("td", { class: "num", dataset: { key: "replied" } }, fmtInt(s.replied)),
    el("td", { class: "num", dataset: { key: "bounced" } }, fmtInt(s.bounced)),
    ...["open_rate", "reply_rate", "bounce_rate", extra].filter(Boolean).map((key) =>
      rateCell(s[key], s[METRICS[key].count], s[METRICS[key].denominator],
               key === metric ? rankingNotes(s, metric, rankBy) : []))));

  const table = data.segments.length
    ? el("div", { class: "scroll", role: "region", tabindex: "0", "aria-label": "Ranked segments" },
        el("table", { id: "top-segments" },
          el("caption", {}, rankingCaption(metric, rankBy)),
          el("thead", {}, el("tr", {}, columns.map((c) => el("th", { scope: "col" }, c)))),
          el("tbody", {}, rows)))
    : el("p", { class: "empty" }, "No segment has sends in this window.");

  results.removeAttribute("aria-busy");
  results.replaceChildren(
    el("p", { class: "range" }, `${data.time_range_from.slice(0, 10)} to ${data.time_range_to.slice(0, 10)} (UTC)`),
    table);
}

/* --- a segment's page --------------------------------------------------------------------- */

function definitionList(entries) {
  return el("dl", { class: "facts" }, entries.flatMap(([term, value]) => [el("dt", {}, term), el("dd", {}, value)]));
}

function filtersText(filters) {
  const parts = Object.entries(filters || {}).map(([k, v]) => `${k}: ${Array.isArray(v) ? v.map(isolate).join(", ") : v}`);
  return parts.length ? parts.join("; ") : "every lead";
}

async function renderSegment(ref, params) {
  const days = params.get("days") || "30";
  const asOf = params.get("as_of") || "";
  const metric = METRICS[params.get("metric")] ? params.get("metric") : "reply_rate";
  const segment = await api(`segments/${encodeURIComponent(ref)}`, { days, as_of: asOf });
  const p = segment.performance;
  const back = params;  // the card's metric, window and limit, as the card's link handed them over

  const leadsBox = el("div", { id: "leads" }, el("p", {}, "Loading leads…"));
  const campaignsBox = el("div", { id: "campaigns" }, el("p", {}, "Loading campaigns…"));
  const trendBox = el("div", { id: "trend" }, el("p", {}, "Loading the trend…"));
  const bestTimeBox = el("div", { id: "best-time" }, el("p", {}, "Loading send times…"));
  const variantsBox = el("div", { id: "variants" }, el("p", {}, "Loading variants…"));
  main.replaceChildren(el("article", { class: "card segment" },
    el("p", {}, el("a", { href: hashFor("/", back), id: "back" }, "← All segments")),
    el("h1", { tabindex: "-1" }, segment.segment_name),
    segment.description ? el("p", { class: "description" }, segment.description) : null,
    definitionList([
      ["Workspace", segment.workspace_id === null ? "all workspaces" : segment.workspace_id],
      ["Filters", filtersText(segment.filters)],
      ["Window", `${segment.time_range_from.slice(0, 10)} to ${segment.time_range_to.slice(0, 10)} (UTC)`],
      ["Sent", fmtInt(p.leads_sent)],
      ["Opened", `${fmtPercent(p.open_rate)} (${fmtInt(p.opened)} of ${fmtInt(p.leads_sent)})`],
      ["Replied", `${fmtPercent(p.reply_rate)} (${fmtInt(p.replied)} of ${fmtInt(p.leads_sent)})`],
      ["Bounced", `${fmtPercent(p.bounce_rate)} (${fmtInt(p.bounced)} of ${fmtInt(p.leads_sent)})`],
    ]),
    el("h2", {}, `${METRICS[metric].label} by week`), trendBox,
    el("h2", {}, "Best hour to send (UTC)"), bestTimeBox,
    el("h2", {}, "A/B variants"), variantsBox,
    el("h2", {}, "Campaigns"), campaignsBox,
    el("h2", {}, "Leads"), leadsBox));

  await Promise.all([
    renderTrend(trendBox, ref, metric, days, asOf).catch((e) => showError(trendBox, e)),
    renderBestTime(bestTimeBox, ref, metric, days, asOf).catch((e) => showError(bestTimeBox, e)),
    renderVariants(variantsBox, ref, metric, days, asOf).catch((e) => showError(variantsBox, e)),
    renderCampaigns(campaignsBox, ref, days, asOf).catch((e) => showError(campaignsBox, e)),
    renderLeads(leadsBox, ref, 0).catch((e) => showError(leadsBox, e)),
  ]);
}

function simpleTable(id, label, columns, rows) {
  return el("div", { class: "scroll", role: "region", tabindex: "0", "aria-label": label },
    el("table", { id },
      el("thead", {}, el("tr", {}, columns.map((c) => el("th", { scope: "col" }, c)))),
      el("tbody", {}, rows)));
}

async function renderCampaigns(box, ref, days, asOf) {
  const data = await api(`segments/${encodeURIComponent(ref)}/campaigns`, { days, as_of: asOf });
  if (!data.campaigns.length) {
    box.replaceChildren(el("p", { class: "empty" }, "No campaign sent to this segment in the window."));
    return;
  }
  box.replaceChildren(simpleTable("campaigns-table", "Campaigns",
    ["Campaign", "First send", "Sent", "Open rate", "Reply rate", "Bounce rate"],
    data.campaigns.map((c) => el("tr", {},
      el("th", { scope: "row", class: "name" }, c.campaign_name === null ? `#${c.campaign_id}` : c.campaign_name),
      el("td", {}, (c.first_sent_at || "").slice(0, 10)),
      el("td", { class: "num" }, fmtInt(c.leads_sent)),
      rateCell(c.open_rate, c.opened, c.leads_sent),
      rateCell(c.reply_rate, c.replied, c.leads_sent),
      rateCell(c.bounce_rate, c.bounced, c.leads_sent)))));
}

/* "12.10–30.20 %", or "–" without an interval (no sends). */
function fmtInterval(low, high) {
  return low === null || low === undefined ? "–" : `${(low * 100).toFixed(2)}–${(high * 100).toFixed(2)} %`;
}

/* The hours with sends, the best one (highest 95 % lower bound among hours with at least
   min_sent sends; lowest upper bound for bounces) marked and said in words. */
async function renderBestTime(box, ref, metric, days, asOf) {
  const data = await api(`segments/${encodeURIComponent(ref)}/best-time`, { metric, days, as_of: asOf, by: "hour" });
  const count = METRICS[metric].count, label = METRICS[metric].label.toLowerCase();
  const hour = (h) => `${String(h).padStart(2, "0")}:00`;
  const sent = data.buckets.filter((b) => b.leads_sent > 0);
  if (!sent.length) {
    box.replaceChildren(el("p", { class: "empty" }, "No sends in this window."));
    return;
  }
  const best = data.best;
  const verdict = best
    ? `Best: ${hour(best.hour)}–${hour((best.hour + 1) % 24)} UTC, ${label} ${fmtPercent(best[metric])} `
      + `(95 %: ${fmtInterval(best[`${metric}_low`], best[`${metric}_high`])}, ${fmtInt(best[count])} of ${fmtInt(best.leads_sent)}).`
    : `No hour has ${data.min_sent} sends yet, too few to pick a best one.`;
  box.replaceChildren(el("p", { class: "verdict" }, verdict), simpleTable("best-time-table", "Sends by hour",
    ["Hour (UTC)", "Sent", METRICS[metric].label, "95 % interval"],
    sent.map((b) => el("tr", { class: best && b.hour === best.hour ? "best" : null, dataset: { hour: b.hour } },
      el("th", { scope: "row" }, hour(b.hour)),
      el("td", { class: "num" }, fmtInt(b.leads_sent)),
      rateCell(b[metric], b[count], b.leads_sent),
      el("td", { class: "num" }, fmtInterval(b[`${metric}_low`], b[`${metric}_high`]))))));
}

/* Each campaign that split the segment's sends into variants: every variant against the
   campaign's control, with the difference's interval and the Benjamini–Hochberg p-value. */
async function renderVariants(box, ref, metric, days, asOf) {
  const data = await api(`segments/${encodeURIComponent(ref)}/variants`, { metric, days, as_of: asOf });
  const tested = data.campaigns.filter((c) => c.variants.length > 1);
  if (!tested.length) {
    box.replaceChildren(el("p", { class: "empty" }, "No campaign split these sends into variants in the window."));
    return;
  }
  const count = METRICS[metric].count;
  const denominator = METRICS[metric].denominator;
  const verdict = (v) => {
    if (v.control) return "control";
    if (v.p_adjusted === null) return "–";
    const p = `p = ${v.p_adjusted.toPrecision(2)}${v.test === "fisher" ? ", Fisher" : ""}`;
    return v.significant ? `differs (${p})` : `not significant (${p})`;
  };
  box.replaceChildren(...tested.map((c) => el("section", { class: "campaign-variants", dataset: { campaignId: c.campaign_id } },
    el("h3", {}, c.campaign_name === null ? `Campaign #${c.campaign_id}` : c.campaign_name),
    simpleTable(`variants-${c.workspace_id}-${c.campaign_id}`, `Variants of ${isolate(c.campaign_name || c.campaign_id)}`,
      ["Variant", METRICS[metric].label, "95 % interval", "Difference to control", "Verdict"],
      c.variants.map((v) => el("tr", { dataset: { variant: v.variant } },
        el("th", { scope: "row" }, v.variant),
        rateCell(v[metric], v[count], v[denominator]),
        el("td", { class: "num" }, fmtInterval(v[`${metric}_low`], v[`${metric}_high`])),
        el("td", { class: "num" }, v.difference === null ? "–"
          : `${(v.difference * 100).toFixed(2)} pts (${(v.difference_low * 100).toFixed(2)} to ${(v.difference_high * 100).toFixed(2)})`),
        el("td", { class: "verdict" }, verdict(v))))))));
}

const PAGE = 20;

async function renderLeads(box, ref, offset) {
  const data = await api(`segments/${encodeURIComponent(ref)}/leads`, { limit: PAGE, offset });
  const pager = el("nav", { class: "pager", "aria-label": "Lead pages" },
    el("button", { type: "button", disabled: offset === 0, onclick: () => renderLeads(box, ref, Math.max(0, offset - PAGE)) },
      "Previous"),
    el("span", {}, data.lead_count ? `${offset + 1}–${offset + data.leads.length} of ${fmtInt(data.lead_count)}` : "no leads"),
    el("button", { type: "button", disabled: offset + PAGE >= data.lead_count, onclick: () => renderLeads(box, ref, offset + PAGE) },
      "Next"));
  box.replaceChildren(simpleTable("leads-table", "Leads", ["Email", "Score", "Country", "Role", "Company size", "Industry"],
    data.leads.map((l) => el("tr", {},
      el("th", { scope: "row", class: "name" }, l.email || `lead ${l.lead_id}`),
      el("td", { class: "num" }, l.score === null ? "–" : l.score),
      el("td", {}, l.country || ""), el("td", {}, l.role || ""),
      el("td", {}, l.company_size || ""), el("td", {}, l.industry || "")))), pager);
}

async function renderTrend(box, ref, metric, days, asOf) {
  let data;
  try {
    data = await api(`segments/${encodeURIComponent(ref)}/trend`, { metric, days, as_of: asOf, by: "week" });
  } catch (error) {
    if (error.status === 404 && !/segment/.test(error.message)) {
      box.replaceChildren(el("p", { class: "empty" }, "This server has no trend endpoint yet."));
      return;
    }
    throw error;
  }
  const points = (data.series[0] || { points: [] }).points;
  if (!points.some((pt) => pt.leads_sent > 0)) {
    box.replaceChildren(el("p", { class: "empty" }, "No sends in this window."));
    return;
  }
  const x = points.map((pt) => Date.parse(pt.period_start) / 1000);
  const pct = (key) => points.map((pt) => (pt[key] === null ? null : pt[key] * 100));
  const summary = points.map((pt) => `${pt.period_start.slice(0, 10)}: ${fmtPercent(pt[metric])} of ${fmtInt(pt.leads_sent)}`);
  const chart = el("div", { class: "chart", role: "img", "aria-label": `${METRICS[metric].label} by week. ${summary.join("; ")}` });
  box.replaceChildren(chart);
  const options = {
    width: Math.max(280, chart.clientWidth || box.clientWidth || 600), height: 240,
    scales: { x: { time: true }, y: { range: (u, min, max) => [0, Math.max(5, Math.ceil(max || 0))] } },
    axes: [{}, { values: (u, ticks) => ticks.map((t) => `${t} %`), size: 60 }],
    series: [
      {},
      { label: METRICS[metric].label, stroke: "#1d4ed8", width: 2, value: (u, v) => (v === null ? "–" : `${v.toFixed(2)} %`) },
      { label: "95 % low", stroke: "#93c5fd", dash: [4, 4], value: (u, v) => (v === null ? "–" : `${v.toFixed(2)} %`) },
      { label: "95 % high", stroke: "#93c5fd", dash: [4, 4], value: (u, v) => (v === null ? "–" : `${v.toFixed(2)} %`) },
    ],
  };
  const plot = new uPlot(options, [x, pct(metric), pct(`${metric}_low`), pct(`${metric}_high`)], chart);
  window.addEventListener("resize", () => plot.setSize({ width: Math.max(280, chart.clientWidth), height: 240 }));
}

/* --- routing ----------------------------------------------------------------------------- */

async function route() {
  const { view, segment, params } = parseRoute();
  await guarded(() => (view === "segment" ? renderSegment(segment, params) : renderCard(params)));
  const heading = main.querySelector("h1");
  if (heading && document.activeElement === document.body) heading.focus();
}

window.addEventListener("hashchange", route);
route();
