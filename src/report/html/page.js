// logtriage HTML report: draws the timeline from the page's data block.
// Every string from the data came from a log or was built from one: it is
// put into the page only as text (textContent, createTextNode, SVG <title>
// text), never as markup, and a link is made only from an http(s) URL.
(function () {
  'use strict';

  var SVGNS = 'http://www.w3.org/2000/svg';
  var SEVERITIES = ['critical', 'high', 'medium', 'low', 'info'];
  var RANK = { critical: 0, high: 1, medium: 2, low: 3, info: 4 };
  var LABEL_W = 180;
  var AXIS_H = 40;
  var LANE_H = 38;
  var RIGHT_PAD = 18;
  // Above this many incidents in view on one lane, each pixel column is
  // drawn once, in its worst severity, with its count in the tooltip.
  var AGG_LIMIT = 300;
  var UNTIMED_ROWS = 500;
  var STORY_ROWS = 200;
  var STEPS = [1e3, 2e3, 5e3, 1e4, 15e3, 3e4, 6e4, 12e4, 3e5, 6e5, 9e5, 18e5, 36e5, 72e5, 108e5, 216e5, 432e5,
    864e5, 1728e5, 6048e5, 12096e5, 2592e6];

  var D;
  try {
    D = JSON.parse(document.getElementById('lt-data').textContent);
  } catch (e) {
    fatal('The report data could not be read: ' + e.message);
    return;
  }

  var parsedAt = performance.now();
  var incidents = D.incidents || [];
  var stories = D.stories || [];
  var storyById = new Map();
  stories.forEach(function (s, k) { s.k = k; s.color = hue(k); storyById.set(s.id, s); });
  incidents.forEach(function (x, n) { x.n = n; });
  var timed = incidents.filter(function (x) { return typeof x.t0 === 'number'; });
  var untimed = incidents.filter(function (x) { return typeof x.t0 !== 'number'; });
  stories.forEach(function (s) { s.members = []; });
  incidents.forEach(function (x) {
    var s = x.story && storyById.get(x.story);
    if (s) { s.members.push(x); }
  });
  stories.forEach(function (s) {
    var members = s.members;
    members.forEach(function (x) {
      if (typeof x.t0 !== 'number') { return; }
      if (typeof s.t0 !== 'number' || x.t0 < s.t0) { s.t0 = x.t0; }
      if (typeof s.t1 !== 'number' || x.t1 > s.t1) { s.t1 = x.t1; }
    });
    var causeId = s.cause && s.cause.incident;
    s.lead = members.find(function (x) { return x.id === causeId; }) || null;
  });

  var lanes = laneOrder();
  var full = fullSpan();
  var state = {
    view: full ? [full[0], full[1]] : null,
    sev: new Set(SEVERITIES),
    apps: new Set(lanes),
    selected: null,
    story: null
  };

  var page = build();
  render();
  document.documentElement.dataset.parseMs = String(Math.round(parsedAt));
  document.documentElement.dataset.renderMs = String(Math.round(performance.now()));
  document.documentElement.dataset.ready = '1';
  var resizing = 0;
  window.addEventListener('resize', function () {
    clearTimeout(resizing);
    resizing = setTimeout(render, 120);
  });
  document.addEventListener('keydown', function (e) {
    if (e.key === 'Escape') { select(null); }
  });

  // ---- building the page -------------------------------------------------

  function build() {
    var header = el('header', {});
    header.appendChild(el('h1', {}, 'Incident timeline', el('span', { class: 'tool' },
      (D.tool ? D.tool.name + ' ' + D.tool.version : 'logtriage'))));
    header.appendChild(el('p', { class: 'meta' }, metaLine()));
    var counts = el('div', { class: 'counts' });
    SEVERITIES.forEach(function (s) {
      var n = incidents.filter(function (x) { return x.severity === s; }).length;
      if (n) { counts.appendChild(el('span', { class: 'chip sev-' + s }, n + ' ' + s)); }
    });
    if (!incidents.length) { counts.appendChild(el('span', { class: 'chip' }, 'no incidents')); }
    header.appendChild(counts);
    document.body.appendChild(header);

    var main = el('main', {});
    main.appendChild(storyList());
    var controls = el('div', { class: 'card controls', id: 'controls' });
    main.appendChild(controls);
    var workspace = el('div', { class: 'workspace' });
    var timeline = el('div', { class: 'card', id: 'timeline' });
    var svg = document.createElementNS(SVGNS, 'svg');
    svg.setAttribute('role', 'img');
    svg.setAttribute('aria-label', 'Incidents over time, one lane per app');
    timeline.appendChild(svg);
    timeline.appendChild(el('p', { class: 'hint' },
      'Drag across the timeline to zoom; click an incident for its evidence and fix. Times are UTC.'));
    workspace.appendChild(timeline);
    var details = el('section', { class: 'card', id: 'details', hidden: '' });
    workspace.appendChild(details);
    main.appendChild(workspace);
    main.appendChild(untimedSection());
    document.body.appendChild(main);
    document.body.appendChild(footer());
    fillControls(controls);
    wireTimeline(svg);
    return { svg: svg, timeline: timeline, details: details, controls: controls, workspace: workspace };
  }

  function metaLine() {
    var s = D.summary || {};
    var files = (s.files || []).length;
    var parts = [files + (files === 1 ? ' file' : ' files') + ' (' + mib(s.bytes || 0) + ')',
      (s.records || 0) + ' records', (s.rules || 0) + ' rules'];
    if (full) { parts.push(fmtTime(D.span[0]) + ' → ' + fmtTime(D.span[1])); }
    if (stories.length) { parts.push(stories.length + (stories.length === 1 ? ' story' : ' stories')); }
    return parts.join(' · ');
  }

  function storyList() {
    var box = el('section', { class: 'card', id: 'stories' });
    box.appendChild(el('h2', {}, stories.length ? 'Stories' : 'Stories (none)'));
    if (!stories.length) {
      box.appendChild(el('p', { class: 'empty' }, incidents.length ? 'No stories were built for this run.' : 'Nothing to report.'));
      return box;
    }
    var ol = el('ol', {});
    var more = null;
    function rows(from, to) {
      stories.slice(from, to).forEach(storyRow);
    }
    function storyRow(s) {
      var sw = el('span', { class: 'swatch' });
      sw.style.background = s.color;
      var li = el('li', { 'data-story': String(s.k), tabindex: '0' },
        el('span', {}, chip(s.severity)),
        el('span', { class: 'headline' }, sw, s.headline),
        el('span', { class: 'when' }, storyWhen(s)),
        el('span', { class: 'sub' }, storySub(s)));
      li.addEventListener('click', function () { focusStory(s); });
      li.addEventListener('keydown', function (e) { if (e.key === 'Enter') { focusStory(s); } });
      s.row = li;
      ol.appendChild(li);
    }
    rows(0, STORY_ROWS);
    box.appendChild(ol);
    if (stories.length > STORY_ROWS) {
      more = button('Show all ' + stories.length + ' stories', function () { rows(STORY_ROWS, stories.length); more.remove(); });
      box.appendChild(more);
    }
    return box;
  }

  function storySub(s) {
    var parts = [];
    if (s.apps && s.apps.length) { parts.push(s.apps.join(', ')); }
    parts.push(s.incidents.length + (s.incidents.length === 1 ? ' incident' : ' incidents'));
    if (s.cause) {
      parts.push('cause: ' + s.cause.text + (s.cause.file ? ' (' + s.cause.file + ':' + s.cause.line + ')' : ''));
    }
    return parts.join(' · ');
  }

  function storyWhen(s) {
    if (typeof s.t0 === 'number') { return s.t0 === s.t1 ? fmtTime(s.t0) : fmtTime(s.t0) + ' → ' + fmtTime(s.t1); }
    return 'not on the timeline';
  }

  function fillControls(box) {
    var sev = el('fieldset', {}, el('legend', {}, 'Severity'));
    SEVERITIES.forEach(function (s) {
      var n = incidents.filter(function (x) { return x.severity === s; }).length;
      if (!n) { return; }
      sev.appendChild(toggle(s + ' (' + n + ')', true, function (on) {
        if (on) { state.sev.add(s); } else { state.sev.delete(s); }
        render();
      }));
    });
    box.appendChild(sev);
    if (lanes.length) {
      var apps = el('fieldset', {}, el('legend', {}, 'Lanes'));
      lanes.forEach(function (a) {
        apps.appendChild(toggle(a, true, function (on) {
          if (on) { state.apps.add(a); } else { state.apps.delete(a); }
          render();
        }));
      });
      box.appendChild(apps);
    }
    var zoom = el('fieldset', {}, el('legend', {}, 'Time'));
    zoom.appendChild(button('Zoom in', function () { zoomBy(0.5); }));
    zoom.appendChild(button('Zoom out', function () { zoomBy(2); }));
    zoom.appendChild(button('Whole span', function () { if (full) { state.view = [full[0], full[1]]; render(); } }));
    zoom.appendChild(el('span', { class: 'range', id: 'range' }));
    box.appendChild(zoom);
  }

  function untimedSection() {
    var box = el('section', { class: 'card', id: 'untimed' });
    box.appendChild(el('h2', {}, 'Not on the timeline (' + untimed.length + ')'));
    if (!untimed.length) {
      box.appendChild(el('p', { class: 'empty' }, 'Every incident has a date and time.'));
      return box;
    }
    box.appendChild(el('p', { class: 'meta' },
      'These incidents come from logs without a date (times of day only) or without times: they cannot be placed.'));
    var table = el('table', {});
    table.appendChild(el('thead', {}, el('tr', {}, el('th', {}, 'Severity'), el('th', {}, 'Incident'),
      el('th', {}, 'App'), el('th', {}, 'When'), el('th', {}, 'Count'), el('th', {}, 'Where'))));
    var body = el('tbody', {});
    var shown = untimed.slice().sort(bySeverity);
    function rows(from, to) {
      shown.slice(from, to).forEach(function (x) {
        var ev = (x.evidence || [])[0];
        var tr = el('tr', { 'data-n': String(x.n) }, el('td', {}, chip(x.severity)), el('td', {}, x.title),
          el('td', {}, x.app || ''), el('td', {}, whenText(x)), el('td', {}, String(x.count)),
          el('td', {}, ev ? ev.file + ':' + ev.line : ''));
        tr.addEventListener('click', function () { select(x); });
        body.appendChild(tr);
      });
    }
    rows(0, UNTIMED_ROWS);
    table.appendChild(body);
    box.appendChild(table);
    if (shown.length > UNTIMED_ROWS) {
      var more = button('Show all ' + shown.length, function () { rows(UNTIMED_ROWS, shown.length); more.remove(); });
      box.appendChild(more);
    }
    return box;
  }

  function footer() {
    var f = el('footer', {});
    var s = D.summary || {};
    f.appendChild(el('p', {}, (s.files || []).length + ' files read, ' + (s.candidates || 0) + ' candidate records, ' +
      (s.matches || 0) + ' matches.'));
    if (s.skipped && s.skipped.length) {
      var ul = el('ul', {});
      s.skipped.forEach(function (k) { ul.appendChild(el('li', {}, (k.path || '') + ': ' + (k.detail || k.reason || ''))); });
      f.appendChild(el('p', {}, 'Skipped:'));
      f.appendChild(ul);
    }
    if (D.unknown && D.unknown.length) {
      var unknown = el('ul', {});
      D.unknown.forEach(function (t) {
        var at = (t.samples || []).map(function (x) { return x.file + ':' + x.line; }).join(', ');
        unknown.appendChild(el('li', {}, t.id + '  ' + t.count + '\u00d7  ' + t.template + '  (' + at + ')'));
      });
      f.appendChild(el('p', {}, 'Unrecognised errors (in no incident; `logtriage rules draft ID PATH...` drafts a rule):'));
      f.appendChild(unknown);
    }
    if (s.notes && s.notes.length) {
      var notes = el('ul', {});
      s.notes.forEach(function (n) { notes.appendChild(el('li', {}, n)); });
      f.appendChild(el('p', {}, 'Notes:'));
      f.appendChild(notes);
    }
    return f;
  }

  // ---- the timeline ------------------------------------------------------

  function render() {
    var svg = page.svg;
    while (svg.firstChild) { svg.removeChild(svg.firstChild); }
    var width = Math.max(640, page.timeline.clientWidth);
    var shownLanes = lanes.filter(function (a) { return state.apps.has(a); });
    var height = AXIS_H + Math.max(1, shownLanes.length) * LANE_H + 8;
    svg.setAttribute('width', String(width));
    svg.setAttribute('height', String(height));
    svg.setAttribute('viewBox', '0 0 ' + width + ' ' + height);
    var rangeEl = document.getElementById('range');
    if (!state.view) {
      var t = svgEl('text', { x: 16, y: 26 });
      t.textContent = timed.length ? '' : 'No incident has a date and time: see the list below.';
      svg.appendChild(t);
      if (rangeEl) { rangeEl.textContent = ''; }
      return;
    }
    var x0 = LABEL_W;
    var x1 = width - RIGHT_PAD;
    var v0 = state.view[0];
    var v1 = state.view[1];
    var scale = function (t) { return x0 + (t - v0) * (x1 - x0) / (v1 - v0); };
    page.scale = { x0: x0, x1: x1, v0: v0, v1: v1, width: width, height: height };
    if (rangeEl) { rangeEl.textContent = fmtTime(v0) + ' → ' + fmtTime(v1); }

    shownLanes.forEach(function (a, k) {
      var y = AXIS_H + k * LANE_H;
      svg.appendChild(svgEl('rect', { x: 0, y: y, width: width, height: LANE_H, class: k % 2 ? 'lane-b' : 'lane-a' }));
    });
    drawAxis(svg, scale, x0, x1, v0, v1, height);
    var positions = new Map();
    shownLanes.forEach(function (a, k) {
      var y = AXIS_H + k * LANE_H;
      var label = svgEl('text', { x: 12, y: y + 17, class: 'lane-label' });
      label.textContent = clip(a, 24);
      label.appendChild(titleOf(a));
      svg.appendChild(label);
      var items = timed.filter(function (x) {
        return x.lane === a && state.sev.has(x.severity) && x.t0 <= v1 && endOf(x) >= v0;
      });
      var sub = svgEl('text', { x: 12, y: y + 31, class: 'lane-sub' });
      sub.textContent = items.length + (items.length === 1 ? ' incident' : ' incidents') + ' in view';
      svg.appendChild(sub);
      var g = svgEl('g', {});
      svg.appendChild(g);
      if (items.length > AGG_LIMIT) {
        drawAggregate(g, items, scale, x0, x1, y);
      } else {
        drawItems(g, items, scale, x0, x1, y, positions);
      }
    });
    drawLinks(svg, positions);
  }

  function drawAxis(svg, scale, x0, x1, v0, v1, height) {
    var g = svgEl('g', { class: 'axis' });
    var step = STEPS[STEPS.length - 1];
    var want = (v1 - v0) / Math.max(2, (x1 - x0) / 120);
    for (var i = 0; i < STEPS.length; i++) { if (STEPS[i] >= want) { step = STEPS[i]; break; } }
    var first = Math.ceil(v0 / step) * step;
    var lastDay = '';
    for (var t = first; t <= v1; t += step) {
      var x = scale(t);
      g.appendChild(svgEl('line', { x1: x, x2: x, y1: AXIS_H - 6, y2: height, class: 'grid' }));
      var iso = new Date(t).toISOString();
      var day = iso.slice(0, 10);
      var label = svgEl('text', { x: x + 3, y: AXIS_H - 9 });
      label.textContent = step >= 864e5 ? day.slice(5) : (step < 6e4 ? iso.slice(11, 19) : iso.slice(11, 16));
      g.appendChild(label);
      if (day !== lastDay) {
        var d = svgEl('text', { x: x + 3, y: 14, class: 'date' });
        d.textContent = day;
        g.appendChild(d);
        lastDay = day;
      }
    }
    if (!lastDay) {
      var only = svgEl('text', { x: x0 + 3, y: 14, class: 'date' });
      only.textContent = new Date(v0).toISOString().slice(0, 10);
      g.appendChild(only);
    }
    svg.appendChild(g);
  }

  function drawItems(g, items, scale, x0, x1, y, positions) {
    items.sort(function (a, b) { return RANK[b.severity] - RANK[a.severity] || a.t0 - b.t0; });
    var sel = state.story;
    items.forEach(function (x) {
      var a = Math.max(x0, scale(x.t0));
      var open = x.ended === false;
      var b = Math.min(x1, open ? x1 : scale(x.t1));
      var cy = y + 19;
      var shape;
      var cls = 'inc sev-' + x.severity + (state.selected === x ? ' sel' : '') +
        (sel && x.story !== sel.id ? ' dim' : '') + (open ? ' open' : '');
      if (b - a >= 5) {
        shape = svgEl('rect', { x: a, y: cy - 7, width: b - a, height: 14, rx: 3, class: cls, 'data-n': x.n });
      } else {
        shape = svgEl('circle', { cx: a, cy: cy, r: 6, class: cls, 'data-n': x.n });
      }
      shape.appendChild(titleOf(tooltip(x)));
      var story = x.story && storyById.get(x.story);
      if (story) {
        var band = svgEl('rect', { x: a, y: cy - 12, width: Math.max(4, b - a), height: 3, class: 'band' +
          (sel && x.story !== sel.id ? ' dim' : '') });
        band.setAttribute('fill', story.color);
        g.appendChild(band);
      }
      g.appendChild(shape);
      if (open && b - a >= 5) {
        g.appendChild(svgEl('path', { d: 'M' + (b - 6) + ' ' + (cy - 5) + ' L' + b + ' ' + cy + ' L' + (b - 6) + ' ' + (cy + 5),
          class: 'openend' }));
      }
      drawTicks(g, x, scale, x0, x1, cy);
      positions.set(x.n, [a, cy]);
    });
  }

  function drawTicks(g, x, scale, x0, x1, cy) {
    if (!x.ticks || x.ticks.length < 2) { return; }
    var seen = new Set();
    var d = '';
    x.ticks.forEach(function (t) {
      var px = Math.round(scale(t));
      if (px < x0 || px > x1 || seen.has(px)) { return; }
      seen.add(px);
      d += 'M' + px + ' ' + (cy + 9) + 'v6';
    });
    if (d) { g.appendChild(svgEl('path', { d: d, class: 'tick' })); }
  }

  function drawAggregate(g, items, scale, x0, x1, y) {
    var cols = new Map();
    items.forEach(function (x) {
      var px = Math.max(x0, Math.min(x1, Math.floor(scale(x.t0) / 2) * 2));
      var c = cols.get(px);
      if (!c) { c = { n: 0, worst: x.severity, t0: x.t0, t1: x.t1 }; cols.set(px, c); }
      c.n += 1;
      if (RANK[x.severity] < RANK[c.worst]) { c.worst = x.severity; }
      c.t0 = Math.min(c.t0, x.t0);
      c.t1 = Math.max(c.t1, x.t0);
    });
    cols.forEach(function (c, px) {
      var h = Math.min(22, 6 + Math.log2(c.n + 1) * 3);
      var r = svgEl('rect', { x: px, y: y + 19 - h / 2, width: 2, height: h, class: 'agg sev-' + c.worst,
        'data-t0': c.t0, 'data-t1': c.t1 });
      r.appendChild(titleOf(c.n + (c.n === 1 ? ' incident' : ' incidents') + ', worst ' + c.worst + '\n' +
        fmtTime(c.t0) + ' → ' + fmtTime(c.t1) + '\nclick to zoom in'));
      g.appendChild(r);
    });
  }

  function drawLinks(svg, positions) {
    var s = state.story;
    if (!s || !s.lead || !positions.has(s.lead.n)) { return; }
    var from = positions.get(s.lead.n);
    var g = svgEl('g', {});
    s.members.forEach(function (x) {
      if (x === s.lead || !positions.has(x.n)) { return; }
      var to = positions.get(x.n);
      var midX = (from[0] + to[0]) / 2;
      var p = svgEl('path', { d: 'M' + from[0] + ' ' + from[1] + ' C' + midX + ' ' + from[1] + ' ' + midX + ' ' + to[1] +
        ' ' + to[0] + ' ' + to[1], class: 'link' });
      p.setAttribute('stroke', s.color);
      g.appendChild(p);
    });
    svg.appendChild(g);
  }

  function wireTimeline(svg) {
    var drag = null;
    var brush = null;
    svg.addEventListener('mousedown', function (e) {
      if (!page.scale || e.button !== 0) { return; }
      var x = localX(e);
      if (x < page.scale.x0) { return; }
      drag = { x: x, moved: false };
    });
    window.addEventListener('mousemove', function (e) {
      if (!drag) { return; }
      var x = Math.max(page.scale.x0, Math.min(page.scale.x1, localX(e)));
      if (Math.abs(x - drag.x) > 4) { drag.moved = true; }
      if (!drag.moved) { return; }
      if (!brush) {
        brush = svgEl('rect', { y: AXIS_H - 6, height: page.scale.height - AXIS_H + 6, class: 'brush' });
        svg.appendChild(brush);
      }
      brush.setAttribute('x', String(Math.min(x, drag.x)));
      brush.setAttribute('width', String(Math.abs(x - drag.x)));
    });
    window.addEventListener('mouseup', function (e) {
      if (!drag) { return; }
      var d = drag;
      drag = null;
      if (brush) { brush.remove(); brush = null; }
      if (!d.moved) { return; }
      var x = Math.max(page.scale.x0, Math.min(page.scale.x1, localX(e)));
      var a = timeAt(Math.min(x, d.x));
      var b = timeAt(Math.max(x, d.x));
      if (b - a >= 1000) { state.view = [a, b]; render(); }
      page.suppressClick = true;
    });
    svg.addEventListener('click', function (e) {
      if (page.suppressClick) { page.suppressClick = false; return; }
      var target = e.target.closest('[data-n],[data-t0]');
      if (!target) { return; }
      if (target.hasAttribute('data-n')) {
        select(incidents[Number(target.getAttribute('data-n'))]);
      } else {
        var t0 = Number(target.getAttribute('data-t0'));
        var t1 = Number(target.getAttribute('data-t1'));
        var pad = Math.max(5000, (t1 - t0) * 0.2);
        state.view = [t0 - pad, t1 + pad];
        render();
      }
    });
  }

  // ---- selection and details ---------------------------------------------

  function select(x) {
    state.selected = x;
    if (x && x.story && storyById.has(x.story)) {
      setStory(storyById.get(x.story));
    } else if (!x) {
      setStory(null);
    }
    showDetails(x);
    render();
  }

  function focusStory(s) {
    setStory(s);
    if (typeof s.t0 === 'number') {
      var pad = Math.max(30000, (s.t1 - s.t0) * 0.15);
      state.view = [s.t0 - pad, s.t1 + pad];
    }
    var first = s.lead || s.members[0];
    state.selected = first || null;
    showDetails(state.selected);
    render();
    page.timeline.scrollIntoView({ block: 'nearest' });
  }

  function setStory(s) {
    state.story = s;
    stories.forEach(function (t) { if (t.row) { t.row.classList.toggle('on', t === s); } });
  }

  function showDetails(x) {
    var box = page.details;
    while (box.firstChild) { box.removeChild(box.firstChild); }
    page.workspace.classList.toggle('open', !!x);
    if (!x) { box.hidden = true; return; }
    box.hidden = false;
    var close = button('×', function () { select(null); });
    close.className = 'close';
    close.setAttribute('aria-label', 'Close');
    box.appendChild(el('div', { class: 'top' }, el('h3', {}, x.title), close));
    var chips = el('div', { class: 'counts' }, chip(x.severity), el('span', { class: 'chip' }, x.rule));
    if (x.app) { chips.appendChild(el('span', { class: 'chip' }, x.app)); }
    box.appendChild(chips);
    var dl = el('dl', {});
    var story = x.story && storyById.get(x.story);
    if (story) {
      var link = button(story.headline, function () { focusStory(story); });
      link.className = 'link-button';
      dl.appendChild(el('dt', {}, 'Story'));
      dl.appendChild(el('dd', {}, link));
    }
    [['When', whenText(x)], ['Count', String(x.count)], ['Window', x.window || ''],
      ['Key', Object.keys(x.key || {}).map(function (k) { return k + '=' + x.key[k]; }).join(', ')],
      ['Status', x.ended === false ? 'still open at the end of the log' : (x.ended === true ? 'recovered' : '')]]
      .forEach(function (row) {
        if (row[1]) { dl.appendChild(el('dt', {}, row[0])); dl.appendChild(el('dd', {}, row[1])); }
      });
    Object.keys(x.fields || {}).forEach(function (k) {
      dl.appendChild(el('dt', {}, k));
      dl.appendChild(el('dd', {}, (x.fields[k] || []).join(', ')));
    });
    box.appendChild(dl);
    if (x.evidence && x.evidence.length) {
      box.appendChild(el('h2', {}, 'Evidence'));
      x.evidence.forEach(function (ev) {
        box.appendChild(el('div', { class: 'ev' },
          el('div', { class: 'where' }, ev.file + ':' + ev.line + (ev.timestamp ? '  ' + ev.timestamp : '')),
          el('pre', {}, ev.text)));
      });
    }
    var fix = fixText(x.fix);
    if (fix) {
      box.appendChild(el('h2', {}, 'Proposed fix'));
      box.appendChild(el('pre', { class: 'fix' }, fix));
    }
    var refs = (typeof x.references === 'number' ? (D.references || [])[x.references] || [] : x.references || [])
      .filter(safeUrl);
    if (refs.length) {
      var ul = el('ul', {});
      refs.forEach(function (r) { ul.appendChild(el('li', {}, el('a', { href: r, rel: 'noopener noreferrer', target: '_blank' }, r))); });
      box.appendChild(el('h2', {}, 'References'));
      box.appendChild(ul);
    }
  }

  // ---- helpers -----------------------------------------------------------

  function laneOrder() {
    var first = new Map();
    timed.forEach(function (x) {
      if (!first.has(x.lane) || x.t0 < first.get(x.lane)) { first.set(x.lane, x.t0); }
    });
    return Array.from(first.keys()).sort(function (a, b) {
      if (a === 'pm2 daemon') { return -1; }
      if (b === 'pm2 daemon') { return 1; }
      return first.get(a) - first.get(b) || (a < b ? -1 : 1);
    });
  }

  function fullSpan() {
    if (!D.span || !timed.length) { return null; }
    var a = D.span[0];
    var b = D.span[1];
    var pad = Math.max(60000, (b - a) * 0.03);
    return [a - pad, b + pad];
  }

  function endOf(x) { return x.ended === false && full ? full[1] : x.t1; }

  function zoomBy(f) {
    if (!state.view) { return; }
    var mid = (state.view[0] + state.view[1]) / 2;
    var half = Math.max(1000, (state.view[1] - state.view[0]) * f / 2);
    state.view = [mid - half, mid + half];
    render();
  }

  function localX(e) {
    var r = page.svg.getBoundingClientRect();
    return e.clientX - r.left;
  }

  function timeAt(px) {
    var s = page.scale;
    return s.v0 + (px - s.x0) * (s.v1 - s.v0) / (s.x1 - s.x0);
  }

  function whenText(x) {
    var span;
    if (x.first_seen && x.last_seen && x.first_seen !== x.last_seen) { span = x.first_seen + ' → ' + x.last_seen; }
    else if (x.first_seen) { span = x.first_seen; }
    else if (x.time_of_day) {
      span = x.time_of_day.first === x.time_of_day.last ? x.time_of_day.first : x.time_of_day.first + ' → ' + x.time_of_day.last;
      span += ' (date unknown)';
    } else { span = 'no timestamps in the log'; }
    return span;
  }

  // A fix is [template, values]: the template's texts (one more than the
  // values) interleaved with the values.
  function fixText(f) {
    if (!Array.isArray(f)) { return typeof f === 'string' ? f : ''; }
    var texts = (D.fixes || [])[f[0]] || [];
    var values = f[1] || [];
    var out = '';
    texts.forEach(function (t, k) { out += t + (k < values.length ? values[k] : ''); });
    return out;
  }

  function tooltip(x) {
    return x.title + '\n' + x.severity + ' · ' + x.rule + '\n' + whenText(x) + (x.count > 1 ? ' · ' + x.count + '×' : '');
  }

  function bySeverity(a, b) { return RANK[a.severity] - RANK[b.severity] || a.n - b.n; }

  function chip(s) { return el('span', { class: 'chip sev-' + s }, s); }

  function toggle(text, on, change) {
    var input = el('input', { type: 'checkbox' });
    input.checked = on;
    input.addEventListener('change', function () { change(input.checked); });
    return el('label', {}, input, ' ' + text);
  }

  function button(text, click) {
    var b = el('button', { type: 'button' }, text);
    b.addEventListener('click', click);
    return b;
  }

  function safeUrl(u) { return typeof u === 'string' && /^https?:\/\//i.test(u); }

  function hue(k) { return 'hsl(' + ((k * 137) % 360) + ', 62%, 46%)'; }

  function mib(bytes) {
    if (bytes < 1024 * 1024) { return (bytes / 1024).toFixed(1) + ' KiB'; }
    return (bytes / 1048576).toFixed(1) + ' MiB';
  }

  function fmtTime(ms) {
    var iso = new Date(ms).toISOString();
    return iso.slice(0, 10) + ' ' + iso.slice(11, 19) + 'Z';
  }

  function clip(s, n) { return s.length > n ? s.slice(0, n - 1) + '…' : s; }

  function titleOf(text) {
    var t = document.createElementNS(SVGNS, 'title');
    t.textContent = text;
    return t;
  }

  // Attributes are set by name; no caller passes an event handler or a
  // URL it has not checked with safeUrl.
  function el(tag, attrs) {
    var node = document.createElement(tag);
    Object.keys(attrs).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    for (var i = 2; i < arguments.length; i++) {
      var c = arguments[i];
      if (c === null || c === undefined) { continue; }
      node.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
    }
    return node;
  }

  function svgEl(tag, attrs) {
    var node = document.createElementNS(SVGNS, tag);
    Object.keys(attrs).forEach(function (k) { node.setAttribute(k, String(attrs[k])); });
    return node;
  }

  function fatal(message) {
    var p = document.createElement('p');
    p.className = 'error';
    p.textContent = message;
    document.body.appendChild(p);
    document.documentElement.dataset.ready = 'error';
  }
})();
