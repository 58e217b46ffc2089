/* The hub's dashboard (数据展现): everything through the hub's GraphQL API with the signed-in token.
   Views: the city (全市) → a district (区划) → a unit's ledger (机构编制台账). Charts: Apache ECharts (vendored). */
(function () {
  "use strict";
  var CONFIG = JSON.parse(document.getElementById("hub-config").textContent);
  var TOKEN_KEY = "hub.dashboard.token";
  var LANG_KEY = "hub.dashboard.lang";
  var T = {
    zh: {
      title: "机构编制数据展现", signIn: "登录", signOut: "退出", tokenPlaceholder: "访问令牌（hub token create …）",
      kpiUnits: "机构数", kpiApproved: "核定编制", kpiUsed: "实有人数", kpiAvailable: "空编数", kpiOver: "超编单位",
      kpiMismatches: "未处理比对问题", feedTitle: "比对问题实时动态", footer: "图表：Apache ECharts（随本系统提供，无需互联网）",
      city: "全市", quotaTitle: "各区划用编情况", over: "超编预警", units: "单位用编", age: "年龄金字塔",
      education: "学历结构", rank: "职级结构", ledger: "机构编制台账", report: "查看报表", close: "关闭",
      used: "实有", reserved: "计划占用", available: "空编", approved: "核定", noOver: "无超编单位",
      notAllowed: "当前角色无权查看此报表", signedOut: "未登录：请输入访问令牌", connected: "已连接",
      connecting: "连接中…", disconnected: "已断开，稍后重连", persons: "人", unitHint: "点击单位查看台账",
      districtHint: "点击区划查看明细", lang: "English", role: "角色", region: "区划", noData: "暂无数据",
      badToken: "令牌无效或已吊销", exportFailed: "导出失败", ageBands: ["30岁以下", "30-39岁", "40-49岁", "50-54岁", "55岁及以上"],
      eduLevels: ["博士", "硕士", "大学本科", "大学专科", "中专及以下", "其他", "未填"], avgAge: "平均年龄",
      retiring: "5年内退休", men: "男", women: "女",
      findings: "逾期整改事项", noFindings: "无逾期整改事项", findingCols: ["单位", "违规类别", "状态", "整改期限", "事项"],
      scorecard: "时效记分卡", absorption: "超编消化台账", noAbsorption: "无超编单位，无需消化"
    },
    en: {
      title: "Establishment dashboard", signIn: "Sign in", signOut: "Sign out", tokenPlaceholder: "access token (hub token create …)",
      kpiUnits: "Units", kpiApproved: "Approved", kpiUsed: "Used", kpiAvailable: "Available", kpiOver: "Over-quota units",
      kpiMismatches: "Open mismatches", feedTitle: "Live mismatch feed", footer: "Charts: Apache ECharts (served by the hub, no internet needed)",
      city: "City", quotaTitle: "Quota use by district", over: "Over-quota warnings", units: "Quota use by unit", age: "Age pyramid",
      education: "Education structure", rank: "Rank structure", ledger: "Establishment ledger", report: "Report", close: "Close",
      used: "Used", reserved: "Reserved", available: "Available", approved: "Approved", noOver: "No unit over quota",
      notAllowed: "This role may not read this report", signedOut: "Signed out: enter an access token", connected: "connected",
      connecting: "connecting…", disconnected: "disconnected, reconnecting", persons: "persons", unitHint: "click a unit for its ledger",
      districtHint: "click a district for details", lang: "中文", role: "role", region: "region", noData: "no data",
      badToken: "invalid or revoked token", exportFailed: "export failed", ageBands: ["under 30", "30-39", "40-49", "50-54", "55+"],
      eduLevels: ["Doctorate", "Master", "Bachelor", "College", "Secondary or below", "Other", "Unknown"], avgAge: "average age",
      retiring: "retiring within 5 years", men: "Men", women: "Women",
      findings: "Overdue findings", noFindings: "No overdue finding", findingCols: ["unit", "category", "status", "deadline", "title"],
      scorecard: "Timeliness scorecard", absorption: "Over-quota absorption", noAbsorption: "No unit over quota: nothing to absorb"
    }
  };
  // The registry's codes in the office's words (hub/domain/vocabulary.py; contract section 7 for mismatch kinds).
  var ZH = {
    ADMINISTRATIVE: "行政编制", POLITICAL_LEGAL: "政法专项编制", PUBLIC_INSTITUTION: "事业编制", WORKER: "工勤编制",
    DIVISION_CHIEF: "正处", DEPUTY_DIVISION_CHIEF: "副处", SECTION_CHIEF: "正科", DEPUTY_SECTION_CHIEF: "副科", NONE: "非领导职务",
    IDENTITY_UNKNOWN: "身份核验不通过", NAME_MISMATCH: "姓名不一致", DECEASED_ACTIVE: "已死亡仍在编", GHOST_PAYROLL: "疑似吃空饷",
    PAYROLL_UNIT_MISMATCH: "发薪单位不一致", DOUBLE_PAYROLL: "重复领薪", UNPAID_POSTING: "在编未发薪",
    INSURANCE_EMPLOYER_MISMATCH: "参保单位不一致", INSURANCE_MISSING: "未参保", HR_STATUS_CONFLICT: "人事状态冲突",
    HR_UNIT_MISMATCH: "人事单位不一致", RETIREMENT_DUE: "到龄未退休", OVER_QUOTA: "超编", LEADERSHIP_OVER_QUOTA: "超职数配备",
    HEADCOUNT_INCONSISTENT: "三数不一致"
  };
  function word(code) { return lang === "zh" && ZH[code] ? ZH[code] : code; }
  var lang = localStorage.getItem(LANG_KEY) === "en" ? "en" : "zh";
  var state = { region: null, unit: null, unitName: null };
  var charts = {};
  var $ = function (id) { return document.getElementById(id); };
  var t = function (key) { return T[lang][key]; };

  function token() { return sessionStorage.getItem(TOKEN_KEY); }
  function regionName(code) { return (lang === "zh" && CONFIG.regions[code]) || (CONFIG.regions[code] ? CONFIG.regions[code] + " " + code : code); }
  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") e.textContent = attrs[k];
      else if (k === "onclick") e.addEventListener("click", attrs[k]);
      else e.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { if (c) e.appendChild(c); });
    return e;
  }
  function fmt(n) { return typeof n === "number" ? n.toLocaleString(lang === "zh" ? "zh-CN" : "en-US") : (n == null ? "" : String(n)); }
  function showError(msg) { var e = $("error"); e.textContent = msg || ""; e.hidden = !msg; }

  // --- GraphQL over HTTP -------------------------------------------------------------------------------------------
  function gql(query, variables) {
    return fetch(CONFIG.graphql, {
      method: "POST",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "Authorization": "Bearer " + token() },
      body: JSON.stringify({ query: query, variables: variables || {} })
    }).then(function (r) {
      return r.json().then(function (body) {
        if (r.status === 401) { var e = new Error(t("badToken")); e.code = "UNAUTHENTICATED"; throw e; }
        if (body.errors && body.errors.length) {
          var err = new Error(body.errors[0].message);
          err.code = (body.errors[0].extensions || {}).code;
          throw err;
        }
        return body.data;
      });
    });
  }
  var REPORT_Q = "query DashboardReport($name: String!, $params: JSON) { report(name: $name, params: $params) " +
    "{ name title columns labels rows generatedOn } }";
  function report(name, params) {
    return gql(REPORT_Q, { name: name, params: params || {} }).then(function (d) { return d.report; });
  }
  function regionParams() { return state.region ? { region: state.region } : {}; }

  // --- exports: fetch with the token, save the Blob -----------------------------------------------------------------
  function exportReport(name, params, format) {
    var q = Object.keys(params || {}).map(function (k) { return encodeURIComponent(k) + "=" + encodeURIComponent(params[k]); }).join("&");
    var url = CONFIG.export + "/" + encodeURIComponent(name) + "." + format + (q ? "?" + q : "");
    return fetch(url, { headers: { "Authorization": "Bearer " + token() } }).then(function (r) {
      if (!r.ok) return r.json().then(function (b) { throw new Error(t("exportFailed") + ": " + ((b.errors || [{}])[0].message || r.status)); });
      var cd = r.headers.get("Content-Disposition") || "";
      var m = /filename="([^"]+)"/.exec(cd);
      return r.blob().then(function (blob) {
        var a = el("a", { href: URL.createObjectURL(blob), download: m ? m[1] : name + "." + format });
        document.body.appendChild(a); a.click(); a.remove();
        setTimeout(function () { URL.revokeObjectURL(a.href); }, 10000);
        document.body.setAttribute("data-last-export", name + "." + format + ":" + blob.size);
        return blob;
      });
    }).catch(function (e) { showError(e.message); });
  }
  function reportLinks(name, params) {
    return el("span", { "class": "links" }, [
      el("button", { type: "button", "class": "link", "data-report": name, text: t("report"), onclick: function () { openReport(name, params); } }),
      el("button", { type: "button", "class": "link", "data-export": name + ".csv", text: "CSV", onclick: function () { exportReport(name, params, "csv"); } }),
      el("button", { type: "button", "class": "link", "data-export": name + ".xlsx", text: "XLSX", onclick: function () { exportReport(name, params, "xlsx"); } })
    ]);
  }
  function table(rep, onRow) {
    var head = el("tr", {}, rep.labels.map(function (l, i) { return el("th", { title: rep.columns[i], text: lang === "zh" ? l : rep.columns[i] }); }));
    var body = rep.rows.map(function (row) {
      var tr = el("tr", {}, row.map(function (c) { return el("td", { text: typeof c === "string" ? word(c) : fmt(c) }); }));
      if (onRow) { tr.classList.add("clickable"); tr.addEventListener("click", function () { onRow(row); }); }
      return tr;
    });
    return el("table", { "data-report-table": rep.name }, [el("thead", {}, [head]), el("tbody", {}, body)]);
  }
  function openReport(name, params) {
    var view = $("report-view");
    report(name, params).then(function (rep) {
      view.replaceChildren(el("h2", {}, [el("span", { text: rep.title }), reportLinks(name, params),
        el("button", { type: "button", "class": "link", text: t("close"), onclick: function () { view.hidden = true; } })]),
        table(rep));
      view.hidden = false;
      view.scrollIntoView();
    }).catch(function (e) { showError(e.message); });
  }

  // --- cards ---------------------------------------------------------------------------------------------------------
  function card(id, titleKey, reportName, params) {
    var c = $(id);
    var body = el("div", { "class": "body" });
    c.replaceChildren(el("h2", {}, [el("span", { text: t(titleKey) }), reportLinks(reportName, params)]), body);
    return body;
  }
  function chart(id, body, option) {
    if (charts[id]) charts[id].dispose();
    var box = el("div", { "class": "chart", id: id + "-chart" });
    body.appendChild(box);
    charts[id] = echarts.init(box, null, { renderer: "canvas" });
    charts[id].setOption(option);
    return charts[id];
  }
  function refused(body, e) {
    body.appendChild(el("p", { "class": "muted", "data-refused": "1", text: e.code === "FORBIDDEN" ? t("notAllowed") : e.message }));
  }
  function sumBy(rows, keyIdx, valIdxs) {
    var out = {}, order = [];
    rows.forEach(function (r) {
      var k = r[keyIdx];
      if (!(k in out)) { out[k] = valIdxs.map(function () { return 0; }); order.push(k); }
      valIdxs.forEach(function (v, i) { out[k][i] += Number(r[v]) || 0; });
    });
    return order.map(function (k) { return [k].concat(out[k]); });
  }
  function col(rep, key) { return rep.columns.indexOf(key); }

  function quotaCard() {
    var body = card("card-quota", "quotaTitle", "region-summary", regionParams());
    return report("region-summary", regionParams()).then(function (rep) {
      var rows = sumBy(rep.rows.filter(function (r) { return /^\d{6}$/.test(String(r[0])); }), col(rep, "region"),
        [col(rep, "used"), col(rep, "reserved"), col(rep, "available"), col(rep, "approved")]);
      $("card-quota").setAttribute("data-regions", rows.map(function (r) { return r[0]; }).join(","));
      body.appendChild(el("p", { "class": "muted", text: state.region ? "" : t("districtHint") }));
      var c = chart("card-quota", body, {
        tooltip: { trigger: "axis" }, legend: { top: 0 }, grid: { left: 60, right: 20, top: 30, bottom: 60 },
        xAxis: { type: "category", data: rows.map(function (r) { return regionName(r[0]); }), axisLabel: { rotate: 30 } },
        yAxis: { type: "value" },
        series: [["used", 1], ["reserved", 2], ["available", 3]].map(function (s) {
          return { name: t(s[0]), type: "bar", stack: "q", data: rows.map(function (r) { return Math.max(r[s[1]], 0); }) };
        })
      });
      c.on("click", function (p) { var code = rows[p.dataIndex][0]; if (!state.region) go(code, null); });
    }).catch(function (e) { refused(body, e); });
  }
  function overCard() {
    var body = card("card-over", "over", "over-quota", regionParams());
    return report("over-quota", regionParams()).then(function (rep) {
      $("card-over").setAttribute("data-count", rep.rows.length);
      if (!rep.rows.length) { body.appendChild(el("p", { "class": "ok", text: t("noOver") })); return; }
      var keep = ["unit_name", "category", "approved", "used", "over", "since", "policy_deadline"].map(function (k) { return col(rep, k); });
      var view = { name: rep.name, columns: keep.map(function (i) { return rep.columns[i]; }), labels: keep.map(function (i) { return rep.labels[i]; }),
        rows: rep.rows.map(function (r) { return keep.map(function (i) { return r[i]; }); }) };
      var unitIdx = col(rep, "unit");
      body.appendChild(table(view, function (row) {
        var full = rep.rows.find(function (r) { return r[keep[0]] === row[0]; });
        go(state.region, full[unitIdx], row[0]);
      }));
    }).catch(function (e) { refused(body, e); });
  }
  // Findings past their deadline and not yet rectified (整改事项, contract section 11), through `findings`.
  var FINDINGS_Q = "query DashboardFindings($f: FindingFilter) { findings(filter: $f, first: 50) { totalCount " +
    "edges { node { id unitCode unit { name } category categoryLabel status statusLabel deadline title } } } }";
  function findingsCard() {
    var body = card("card-findings", "findings", "findings-by-category", regionParams());
    var filter = { overdue: true };
    if (state.region) filter.regionCode = state.region;
    return gql(FINDINGS_Q, { f: filter }).then(function (d) {
      var c = d.findings;
      $("card-findings").setAttribute("data-count", c.totalCount);
      if (!c.edges.length) { body.appendChild(el("p", { "class": "muted", text: t("noFindings") })); return; }
      var view = { name: "overdue-findings", columns: ["unit", "category", "status", "deadline", "title"], labels: t("findingCols"),
        rows: c.edges.map(function (e) {
          var n = e.node;
          return [n.unit.name, lang === "zh" ? n.categoryLabel : n.category, lang === "zh" ? n.statusLabel : n.status, n.deadline, n.title];
        }) };
      body.appendChild(table(view));
    }).catch(function (e) { refused(body, e); });
  }
  // issue 17: the district ranking of the timeliness scorecard (the units of a district in its view) and the
  // over-quota absorption ledger; each card's 查看报表 opens its report
  function pick(rep, keys) {
    var idx = keys.map(function (k) { return col(rep, k); });
    return { name: rep.name, columns: keys, labels: idx.map(function (i) { return rep.labels[i]; }),
      rows: rep.rows.map(function (r) { return idx.map(function (i) { return r[i]; }); }) };
  }
  function scorecardCard() {
    var year = String(new Date().getFullYear());
    var body = card("card-scorecard", "scorecard", "scorecards", Object.assign({ year: year }, regionParams()));
    function units(region) {  // a district's units ranked (the district view, or a district office's only district)
      return report("scorecards", { year: year, region: region }).then(function (rep) {
        $("card-scorecard").setAttribute("data-ranking", rep.rows.map(function (r) { return r[col(rep, "unit")]; }).join(","));
        body.appendChild(table(pick(rep, ["rank", "unit_name", "score", "changes_prompt_pct", "departures_prompt_pct"])));
      });
    }
    var done = state.region ? units(state.region) : report("scorecard-offices", { year: year }).then(function (rep) {
      if (rep.rows.length === 1) return units(rep.rows[0][col(rep, "region")]);
      var view = pick(rep, ["rank", "region", "changes", "changes_prompt_pct", "average_unit_score"]);
      view.rows.forEach(function (r) { r[1] = regionName(r[1]); });
      $("card-scorecard").setAttribute("data-ranking", rep.rows.map(function (r) { return r[col(rep, "region")]; }).join(","));
      body.appendChild(table(view, function (row) {
        openReport("scorecards", { year: year, region: rep.rows[view.rows.indexOf(row)][col(rep, "region")] });
      }));
    });
    return done.catch(function (e) { refused(body, e); });
  }
  function absorptionCard() {
    var body = card("card-absorption", "absorption", "absorption-ledger", regionParams());
    return report("absorption-ledger", regionParams()).then(function (rep) {
      $("card-absorption").setAttribute("data-count", rep.rows.length);
      if (!rep.rows.length) { body.appendChild(el("p", { "class": "ok", text: t("noAbsorption") })); return; }
      body.appendChild(table(pick(rep, ["unit_name", "category", "excess", "absorbed", "next_target", "status_zh"])));
    }).catch(function (e) { refused(body, e); });
  }
  function unitsCard() {
    var c = $("card-units");
    if (!state.region) { c.hidden = true; return Promise.resolve(); }
    c.hidden = false;
    var body = card("card-units", "units", "quota-use", regionParams());
    return report("quota-use", regionParams()).then(function (rep) {
      var rows = sumBy(rep.rows, col(rep, "unit"), [col(rep, "approved"), col(rep, "used"), col(rep, "available")]);
      var names = {};
      rep.rows.forEach(function (r) { names[r[col(rep, "unit")]] = r[col(rep, "unit_name")]; });
      var view = { name: rep.name, columns: ["unit", "unit_name", "approved", "used", "available"],
        labels: ["单位代码", "单位名称", "核定数", "实有数", "空编数"],
        rows: rows.map(function (r) { return [r[0], names[r[0]], r[1], r[2], r[3]]; }) };
      body.appendChild(el("p", { "class": "muted", text: t("unitHint") }));
      body.appendChild(table(view, function (row) { go(state.region, row[0], row[1]); }));
    }).catch(function (e) { refused(body, e); });
  }
  // Structure charts: at the city level one bar per district (shares, so districts of any size compare at a glance),
  // in a district the district's own distribution. Each chart's report is one click away.
  function districtRows(rep) { return rep.rows.filter(function (r) { return /^\d{6}$/.test(String(r[0])); }); }
  function structure(id, rep, keys, names, sumRow) {
    var body = $(id).querySelector(".body");
    var rows = sumBy(districtRows(rep), 0, keys.map(function (k) { return col(rep, k); }));
    var totals = keys.map(function (k, i) { return rows.reduce(function (s, r) { return s + r[i + 1]; }, 0); });
    var total = totals.reduce(function (a, b) { return a + b; }, 0);
    $(id).setAttribute("data-total", total);
    if (sumRow) body.appendChild(sumRow);
    if (!total) { body.appendChild(el("p", { "class": "muted", text: t("noData") })); return; }
    var used = keys.map(function (k, i) { return totals[i] > 0; });
    if (state.region || rows.length < 2) {
      return chart(id, body, { tooltip: {}, grid: { left: 100, right: 40, top: 10, bottom: 30 },
        yAxis: { type: "category", data: names.filter(function (n, i) { return used[i]; }) }, xAxis: { type: "value" },
        series: [{ type: "bar", name: t("persons"), data: totals.filter(function (n, i) { return used[i]; }),
          label: { show: true, position: "right" } }] });
    }
    var c = chart(id, body, {
      tooltip: { trigger: "axis", valueFormatter: function (v) { return v + "%"; } }, legend: { top: 0, type: "scroll" },
      grid: { left: 70, right: 20, top: 30, bottom: 25 }, xAxis: { type: "value", max: 100 },
      yAxis: { type: "category", data: rows.map(function (r) { return regionName(r[0]); }), inverse: true },
      series: keys.map(function (k, i) {
        return used[i] ? { name: names[i], type: "bar", stack: "s", data: rows.map(function (r) {
          var n = r.slice(1).reduce(function (a, b) { return a + b; }, 0);
          return n ? Math.round(1000 * r[i + 1] / n) / 10 : 0;
        }) } : null;
      }).filter(Boolean)
    });
    c.on("click", function (p) { go(rows[p.dataIndex][0], null); });
    return c;
  }
  // The age pyramid (age-pyramid): men to the left (drawn as negative values), women to the right, one bar per age
  // band, youngest at the bottom. At the city level a choice of district redraws it in place (全市 = all districts);
  // in a district, the district's own. The note under it is age-structure's average age and retirements due.
  function pyramid(rep, region) {
    var rows = districtRows(rep).filter(function (r) { return !region || r[0] === region; });
    var bands = [], labels = [], men = {}, women = {};
    rows.forEach(function (r) {
      var b = r[col(rep, "band")];
      if (bands.indexOf(b) < 0) { bands.push(b); labels.push(lang === "zh" ? r[col(rep, "band_label")] : T.en.ageBands[bands.length - 1]); men[b] = 0; women[b] = 0; }
      men[b] += Number(r[col(rep, "men")]) || 0;
      women[b] += Number(r[col(rep, "women")]) || 0;
    });
    return { bands: bands, labels: labels, men: bands.map(function (b) { return men[b]; }), women: bands.map(function (b) { return women[b]; }) };
  }
  function drawPyramid(body, rep, region) {
    var p = pyramid(rep, region);
    var total = p.men.concat(p.women).reduce(function (a, b) { return a + b; }, 0);
    var box = $("card-age");
    box.setAttribute("data-total", total);
    box.setAttribute("data-pyramid-region", region || "");
    box.setAttribute("data-men", p.men.join(","));
    box.setAttribute("data-women", p.women.join(","));
    var old = body.querySelector(".chart, .nodata");
    if (old) old.remove();
    if (charts["card-age"]) { charts["card-age"].dispose(); delete charts["card-age"]; }
    if (!total) { body.appendChild(el("p", { "class": "muted nodata", text: t("noData") })); return; }
    var abs = function (v) { return fmt(Math.abs(Number(v))); };
    var peak = Math.ceil(1.2 * Math.max.apply(null, p.men.concat(p.women)));  // room for the labels
    return chart("card-age", body, {
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" }, valueFormatter: abs },
      legend: { top: 0, data: [t("men"), t("women")] }, grid: { left: 90, right: 30, top: 30, bottom: 30 },
      xAxis: { type: "value", min: -peak, max: peak, axisLabel: { formatter: abs } },
      yAxis: { type: "category", data: p.labels, axisTick: { show: false } },
      series: [
        { name: t("men"), type: "bar", stack: "p", data: p.men.map(function (v) { return -v; }), itemStyle: { color: "#3b7dd8" },
          label: { show: true, position: "left", formatter: function (x) { return x.value ? abs(x.value) : ""; } } },
        { name: t("women"), type: "bar", stack: "p", data: p.women, itemStyle: { color: "#d8578a" },
          label: { show: true, position: "right", formatter: function (x) { return x.value ? abs(x.value) : ""; } } }
      ]
    });
  }
  function ageCard() {
    var body = card("card-age", "age", "age-pyramid", regionParams());
    return Promise.all([report("age-pyramid", regionParams()), report("age-structure", regionParams())]).then(function (res) {
      var rep = res[0], st = res[1];
      var rows = districtRows(st);
      var persons = rows.reduce(function (s, r) { return s + (Number(r[col(st, "total")]) || 0); }, 0);
      var retiring = rows.reduce(function (s, r) { return s + (Number(r[col(st, "retiring_5y")]) || 0); }, 0);
      var ageSum = rows.reduce(function (s, r) { return s + (Number(r[col(st, "average_age")]) || 0) * (Number(r[col(st, "total")]) || 0); }, 0);
      body.appendChild(el("p", { "class": "muted", text: t("avgAge") + " " + (persons ? (ageSum / persons).toFixed(1) : "–") + " · " +
        t("retiring") + " " + fmt(retiring) + " / " + fmt(persons) }));
      var regions = [];
      districtRows(rep).forEach(function (r) { if (regions.indexOf(r[0]) < 0) regions.push(r[0]); });
      if (!state.region && regions.length > 1) {
        var pick = el("select", { id: "age-district", "aria-label": t("region") },
          [el("option", { value: "", text: t("city") })].concat(regions.map(function (code) { return el("option", { value: code, text: regionName(code) }); })));
        pick.addEventListener("change", function () { drawPyramid(body, rep, pick.value || null); });
        body.appendChild(el("p", {}, [el("span", { text: t("region") + " " }), pick]));
      }
      drawPyramid(body, rep, state.region || null);
    }).catch(function (e) { refused(body, e); });
  }
  function educationCard() {
    card("card-education", "education", "education-structure", regionParams());
    return report("education-structure", regionParams()).then(function (rep) {
      structure("card-education", rep, ["doctorate", "master", "bachelor", "college", "secondary", "other", "unknown"],
        T[lang].eduLevels);
    }).catch(function (e) { refused($("card-education").querySelector(".body"), e); });
  }
  function rankCard() {
    card("card-rank", "rank", "rank-structure", regionParams());
    return report("rank-structure", regionParams()).then(function (rep) {
      // One row per district and rank: pivot the ranks into columns.
      var ranks = [];
      districtRows(rep).forEach(function (r) { var k = String(r[col(rep, "rank")]); if (ranks.indexOf(k) < 0) ranks.push(k); });
      var pivot = { columns: ["region"].concat(ranks), rows: districtRows(rep).map(function (r) {
        return [r[0]].concat(ranks.map(function (k) { return String(r[col(rep, "rank")]) === k ? Number(r[col(rep, "count")]) || 0 : 0; }));
      }) };
      structure("card-rank", pivot, ranks, ranks.map(word));
    }).catch(function (e) { refused($("card-rank").querySelector(".body"), e); });
  }
  function ledgerCard() {
    var c = $("card-ledger");
    if (!state.unit) { c.hidden = true; return Promise.resolve(); }
    c.hidden = false;
    var params = { unit: state.unit };
    var body = card("card-ledger", "ledger", "establishment-ledger", params);
    return report("establishment-ledger", params).then(function (rep) {
      body.appendChild(table(rep));
      if (state.scroll) { state.scroll = false; c.scrollIntoView(); }
    }).catch(function (e) { refused(body, e); });
  }

  // --- headline numbers ----------------------------------------------------------------------------------------------
  var HEADLINE_Q = "query DashboardHeadline($region: String) { establishmentSummary(regionCode: $region) " +
    "{ units categories { approved used available } overQuotaUnits { code } } mismatchStats(filter: {status: OPEN}) { total } }";
  function headline() {
    var q = gql(HEADLINE_Q, { region: state.region });
    var open = state.region ? report("open-mismatches", { region: state.region, older_than: 0 }).then(function (rep) {
      return rep.rows.reduce(function (s, r) { return s + (Number(r[col(rep, "open")]) || 0); }, 0);
    }) : null;
    return Promise.all([q, open]).then(function (res) {
      var s = res[0].establishmentSummary;
      var sum = function (k) { return s.categories.reduce(function (a, c) { return a + c[k]; }, 0); };
      $("kpi-units").textContent = fmt(s.units);
      $("kpi-approved").textContent = fmt(sum("approved"));
      $("kpi-used").textContent = fmt(sum("used"));
      $("kpi-available").textContent = fmt(sum("available"));
      $("kpi-over").textContent = fmt(s.overQuotaUnits.length);
      $("kpi-mismatches").textContent = fmt(state.region ? res[1] : res[0].mismatchStats.total);
      document.body.setAttribute("data-headline", "ready");
    });
  }

  // --- live mismatch feed: graphql-transport-ws ---------------------------------------------------------------------
  var socket = null, retry = null, headlineTimer = null;
  var FEED_Q = "subscription DashboardFeed { mismatchEvents { id kind status subject source detectedAt unit { code name regionCode } } }";
  function feedStatus(key) { $("feed-status").textContent = t(key); $("feed-status").setAttribute("data-state", key); }
  function connectFeed() {
    if (socket) { socket.onclose = null; socket.close(); }
    clearTimeout(retry);
    if (!token()) return;
    var url = CONFIG.graphql.replace(/^/, (location.protocol === "https:" ? "wss://" : "ws://") + location.host);
    var ws = new WebSocket(url, "graphql-transport-ws");
    socket = ws;
    feedStatus("connecting");
    ws.onopen = function () { ws.send(JSON.stringify({ type: "connection_init", payload: { Authorization: "Bearer " + token() } })); };
    ws.onmessage = function (m) {
      var msg = JSON.parse(m.data);
      if (msg.type === "connection_ack") {
        feedStatus("connected");
        if (msg.payload && msg.payload.role) $("who").textContent = t("role") + ": " + msg.payload.role;
        ws.send(JSON.stringify({ id: "feed", type: "subscribe", payload: { query: FEED_Q, operationName: "DashboardFeed" } }));
      } else if (msg.type === "ping") {
        ws.send(JSON.stringify({ type: "pong" }));
      } else if (msg.type === "next" && msg.payload && msg.payload.data) {
        addFeedItem(msg.payload.data.mismatchEvents);
      } else if (msg.type === "error") {
        showError((msg.payload && msg.payload[0] && msg.payload[0].message) || "subscription error");
      }
    };
    ws.onclose = function () {
      if (socket !== ws) return;
      feedStatus("disconnected");
      retry = setTimeout(connectFeed, 5000);
    };
  }
  function addFeedItem(m) {
    if (state.region && m.unit && m.unit.regionCode !== state.region) return;
    var when = new Date(m.detectedAt);
    var li = el("li", { "class": m.status === "OPEN" ? "open" : "resolved", "data-subject": m.subject, "data-kind": m.kind }, [
      el("time", { text: when.toLocaleTimeString(lang === "zh" ? "zh-CN" : "en-US", { hour12: false }) }),
      el("b", { text: word(m.kind), title: m.kind }), el("span", { text: m.status === "OPEN" ? (lang === "zh" ? "新增" : "opened") : (lang === "zh" ? "已处理" : "resolved") }),
      el("code", { text: m.subject }),
      m.unit ? el("a", { href: "#", text: m.unit.name, onclick: function (e) { e.preventDefault(); go(m.unit.regionCode, m.unit.code, m.unit.name); } }) : null
    ]);
    var feed = $("feed");
    feed.insertBefore(li, feed.firstChild);
    while (feed.children.length > 50) feed.removeChild(feed.lastChild);
    clearTimeout(headlineTimer);
    headlineTimer = setTimeout(function () { headline().catch(function (e) { showError(e.message); }); }, 500);
  }

  // --- navigation: city → district → unit ----------------------------------------------------------------------------
  function crumbs() {
    var nav = $("crumbs");
    var parts = [];
    parts.push(el("a", { href: "#", text: t("city"), onclick: function (e) { e.preventDefault(); go(null, null); } }));
    if (state.region) parts.push(el("a", { href: "#", text: regionName(state.region), onclick: function (e) { e.preventDefault(); go(state.region, null); } }));
    if (state.unit) parts.push(el("span", { text: state.unitName || state.unit }));
    nav.replaceChildren.apply(nav, parts.reduce(function (acc, p, i) { if (i) acc.push(document.createTextNode(" › ")); acc.push(p); return acc; }, []));
  }
  function go(region, unit, unitName) {
    state.region = region || null;
    state.unit = unit || null;
    state.unitName = unitName || null;
    state.scroll = !!state.unit;
    var hash = (state.region || "") + (state.unit ? "/" + state.unit : "");
    if (location.hash.slice(1) !== hash) history.replaceState(null, "", hash ? "#" + hash : location.pathname);
    render();
  }
  function render() {
    crumbs();
    showError("");
    $("report-view").hidden = true;
    document.body.removeAttribute("data-headline");
    document.body.setAttribute("data-loaded", "no");
    var all = [headline(), quotaCard(), overCard(), findingsCard(), unitsCard(), ageCard(), educationCard(), rankCard(), ledgerCard(),
               scorecardCard(), absorptionCard()];
    return Promise.all(all.map(function (p) { return p.catch(function (e) { showError(e.message); }); }))
      .then(function () { document.body.setAttribute("data-loaded", "yes"); });
  }

  // --- sign in, language ----------------------------------------------------------------------------------------------
  function applyLang() {
    document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
    document.querySelectorAll("[data-i18n]").forEach(function (e) { e.textContent = t(e.getAttribute("data-i18n")); });
    document.querySelectorAll("[data-i18n-placeholder]").forEach(function (e) { e.placeholder = t(e.getAttribute("data-i18n-placeholder")); });
    $("lang").textContent = t("lang");
    document.title = t("title");
  }
  function signedIn() {
    if (!token()) {
      $("who").textContent = t("signedOut");
      document.body.setAttribute("data-signed-in", "no");
      return;
    }
    gql("query DashboardWho { reports { name } }").then(function () {
      document.body.setAttribute("data-signed-in", "yes");
      var h = location.hash.slice(1).split("/");
      go(h[0] || null, h[1] || null);
      connectFeed();
    }).catch(function (e) {
      showError(e.message);
      if (e.code === "UNAUTHENTICATED") { sessionStorage.removeItem(TOKEN_KEY); $("who").textContent = t("badToken"); }
    });
  }
  $("signin").addEventListener("submit", function (e) {
    e.preventDefault();
    var v = $("token").value.trim();
    $("token").value = "";
    if (!v) return;
    sessionStorage.setItem(TOKEN_KEY, v);
    signedIn();
  });
  $("signout-btn").addEventListener("click", function () {
    sessionStorage.removeItem(TOKEN_KEY);
    if (socket) { socket.onclose = null; socket.close(); socket = null; }
    location.hash = "";
    location.reload();
  });
  $("lang").addEventListener("click", function () {
    lang = lang === "zh" ? "en" : "zh";
    localStorage.setItem(LANG_KEY, lang);
    applyLang();
    if (token()) render();
  });
  window.addEventListener("resize", function () { Object.keys(charts).forEach(function (k) { charts[k].resize(); }); });
  applyLang();
  signedIn();
})();
