// Candor: small progressive enhancements. Every page works without this file.
(function () {
  "use strict";

  // Confirmation before destructive actions: <form data-confirm="Delete this cycle?">. With
  // data-confirm-field="name" (on the form or the button) the confirmed form also sends name=1, so
  // the server can skip the confirmation page it shows when JavaScript did not ask.
  var dialog = document.getElementById("confirm-dialog");
  function confirmed(form, by) {
    form.dataset.confirmed = "1";
    var field = (by && by.getAttribute("data-confirm-field")) || form.getAttribute("data-confirm-field");
    if (!field || form.querySelector('input[type="hidden"][name="' + field + '"]')) return;
    var input = document.createElement("input");
    input.type = "hidden";
    input.name = field;
    input.value = "1";
    form.appendChild(input);
  }
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    // the button pressed may ask instead of the form; its name=value must survive the confirm
    var by = ev.submitter && ev.submitter.form === form ? ev.submitter : null;
    var text = (by && by.getAttribute("data-confirm")) || form.getAttribute("data-confirm");
    if (!text || form.dataset.confirmed === "1") return;
    ev.preventDefault();
    if (!dialog || typeof dialog.showModal !== "function") {
      if (window.confirm(text)) { confirmed(form, by); form.requestSubmit ? form.requestSubmit(by) : form.submit(); }
      return;
    }
    document.getElementById("confirm-text").textContent = text;
    var ok = document.getElementById("confirm-ok");
    ok.textContent = (by && by.getAttribute("data-confirm-button")) || form.getAttribute("data-confirm-button") || "Confirm";
    // red only for what takes something away: a confirmed step forward (start, submit, share,
    // sign: the pressed button is the page's primary one) keeps the primary colour
    var pressed = by || form.querySelector("button[type=submit], button:not([type])");
    ok.className = "btn " + (pressed && pressed.classList.contains("btn-primary") ? "btn-primary" : "btn-danger");
    dialog.returnValue = "";
    dialog.showModal();
    dialog.addEventListener("close", function onClose() {
      dialog.removeEventListener("close", onClose);
      if (dialog.returnValue === "ok") { confirmed(form, by); form.requestSubmit ? form.requestSubmit(by) : form.submit(); }
    });
  }, true);

  // The main navigation on phones: a drawer (<nav popover>) opened by the header's Menu button.
  // The browser closes it on Escape, a tap outside and its Close button; this adds what it does
  // not: aria-expanded on the Menu button, the focus moved into the menu (and back to the button
  // when it closes), the page behind made inert while it is open (Tab stays in the menu, a tap
  // outside does not also press what was under the finger), closing when a link in it is
  // followed or the screen grows wide. Browsers without popovers get the same by a class.
  var nav = document.getElementById("main-nav");
  var navToggle = document.querySelector("[data-nav-toggle]");
  var behind = [];
  var focusWasInNav = false;
  function navIsOpen() {
    if (!nav) return false;
    return nav.popover !== undefined && typeof nav.showPopover === "function"
      ? nav.matches(":popover-open") : document.body.classList.contains("nav-open");
  }
  function setBehindInert(on) {
    behind.forEach(function (el) { el.inert = false; });
    behind = [];
    if (!on) return;
    for (var el = nav; el.parentElement && el !== document.body; el = el.parentElement) {
      Array.prototype.forEach.call(el.parentElement.children, function (sib) {
        if (sib !== el && !sib.inert && sib.tagName !== "SCRIPT") { sib.inert = true; behind.push(sib); }
      });
    }
  }
  function navOpened() {
    navToggle.setAttribute("aria-expanded", "true");
    setBehindInert(true);
    var first = nav.querySelector("[data-nav-close]") || nav.querySelector("a[href]");
    if (first) first.focus();
  }
  function navClosing() {
    focusWasInNav = nav.contains(document.activeElement);
    setBehindInert(false);
    navToggle.setAttribute("aria-expanded", "false");
  }
  function navClosed() {
    if (focusWasInNav || document.activeElement === document.body) navToggle.focus();
    focusWasInNav = false;
  }
  function closeNav() {
    if (!navIsOpen()) return;
    if (typeof nav.hidePopover === "function") { nav.hidePopover(); return; }
    navClosing();
    document.body.classList.remove("nav-open");
    navClosed();
  }
  if (nav && navToggle) {
    navToggle.setAttribute("aria-expanded", "false");
    if (typeof nav.showPopover === "function") {
      nav.addEventListener("beforetoggle", function (ev) { if (ev.newState === "closed") navClosing(); });
      nav.addEventListener("toggle", function (ev) { if (ev.newState === "open") navOpened(); else navClosed(); });
    } else {
      navToggle.addEventListener("click", function () {
        if (navIsOpen()) { closeNav(); return; }
        document.body.classList.add("nav-open");
        navOpened();
      });
      nav.querySelectorAll("[data-nav-close]").forEach(function (b) { b.addEventListener("click", closeNav); });
      document.addEventListener("click", function (ev) {
        if (navIsOpen() && !nav.contains(ev.target) && !navToggle.contains(ev.target)) closeNav();
      });
    }
    nav.addEventListener("click", function (ev) { if (ev.target.closest && ev.target.closest("a[href]")) closeNav(); });
    window.addEventListener("pageshow", closeNav);
    if (window.matchMedia) {
      var wide = window.matchMedia("(min-width: 901px)");
      var onWide = function () { if (wide.matches) closeNav(); };
      if (wide.addEventListener) wide.addEventListener("change", onWide);
    }
  }

  // Tables on a phone stack each row's cells (candor.css); every cell is labelled with its
  // column's name (data-label, from the head's visible text) so a stacked cell still says what
  // it is, and the table, its rows and cells keep their roles for screen readers, which lose
  // them when a table is not laid out as one.
  document.querySelectorAll("table.table").forEach(function (table) {
    var names = [];
    var head = table.tHead && table.tHead.rows[table.tHead.rows.length - 1];
    if (head) {
      Array.prototype.forEach.call(head.cells, function (th) {
        var copy = th.cloneNode(true);
        copy.querySelectorAll(".sr-only, [aria-hidden=true]").forEach(function (x) { x.remove(); });
        var name = copy.textContent.replace(/[\u25b2\u25bc]/g, "").replace(/\s+/g, " ").trim();
        for (var i = 0; i < (th.colSpan || 1); i++) names.push(name);
      });
    }
    table.setAttribute("role", "table");
    Array.prototype.forEach.call(table.querySelectorAll(":scope > thead, :scope > tbody, :scope > tfoot"), function (g) {
      g.setAttribute("role", "rowgroup");
    });
    Array.prototype.forEach.call(table.rows, function (tr) {
      tr.setAttribute("role", "row");
      var col = 0;
      Array.prototype.forEach.call(tr.cells, function (cell) {
        var header = cell.tagName === "TH";
        cell.setAttribute("role", header ? (cell.scope === "row" ? "rowheader" : "columnheader") : "cell");
        if (!header && names[col] && !cell.hasAttribute("data-label") && (cell.colSpan || 1) === 1) {
          cell.setAttribute("data-label", names[col]);
        }
        col += cell.colSpan || 1;
      });
    });
  });

  // Close open menus when clicking elsewhere or pressing Escape.
  document.addEventListener("click", function (ev) {
    document.querySelectorAll("details.menu[open]").forEach(function (d) {
      if (!d.contains(ev.target)) d.removeAttribute("open");
    });
  });
  document.addEventListener("keydown", function (ev) {
    if (ev.key !== "Escape") return;
    document.querySelectorAll("details.menu[open]").forEach(function (d) {
      d.removeAttribute("open");
      var s = d.querySelector("summary"); if (s) s.focus();
    });
    if (document.body.classList.contains("nav-open")) closeNav();
  });

  // An open menu stays on the screen: one whose button sits at the left edge (a page header
  // wrapped on a phone) opens rightwards instead of off the screen to the left.
  document.addEventListener("toggle", function (ev) {
    var d = ev.target;
    if (!d.matches || !d.matches("details.menu") || !d.open) return;
    var items = d.querySelector(".menu-items");
    if (!items) return;
    items.classList.remove("menu-items-start");
    if (items.getBoundingClientRect().left < 0) items.classList.add("menu-items-start");
  }, true);

  // Auto-submit filters: <select data-autosubmit>.
  document.querySelectorAll("[data-autosubmit]").forEach(function (el) {
    el.addEventListener("change", function () { if (el.form) el.form.submit(); });
  });

  // Drafts saved as people type: <form data-autosave="/api/...">; fields are sent as JSON
  // with the CSRF token after a pause, and a status line says when it was saved.
  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var csrf = csrfMeta ? csrfMeta.getAttribute("content") : "";
  document.querySelectorAll("form[data-autosave]").forEach(function (form) {
    var url = form.getAttribute("data-autosave");
    var status = form.querySelector("[data-autosave-status]");
    var timer = null, last = null;
    function collect() {
      var data = {};
      new FormData(form).forEach(function (v, k) {
        if (k === "csrf_token") return;
        if (data[k] !== undefined) { data[k] = [].concat(data[k], v); } else { data[k] = v; }
      });
      return data;
    }
    function save() {
      var body = JSON.stringify(collect());
      if (body === last) return;
      if (status) status.textContent = "Saving…";
      fetch(url, { method: "PUT", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf }, body: body })
        .then(function (r) {
          if (!r.ok) throw new Error(r.status);
          last = body;
          if (status) status.textContent = "Draft saved " + new Date().toLocaleTimeString();
        })
        .catch(function () { if (status) status.textContent = "Could not save the draft; it is still here. Try again."; });
    }
    form.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(save, 1200); });
    form.addEventListener("change", function () { clearTimeout(timer); timer = setTimeout(save, 400); });
  });

  // Click-to-place on a 2D graph: <svg data-graph-input="x_field,y_field"> with a marker.
  document.querySelectorAll("svg[data-graph]").forEach(function (svg) {
    var xin = document.getElementById(svg.getAttribute("data-x-input"));
    var yin = document.getElementById(svg.getAttribute("data-y-input"));
    var marker = svg.querySelector("[data-marker]");
    var box = svg.querySelector("[data-plot]");
    if (!xin || !yin || !marker || !box) return;
    function place(px, py) {
      var bx = +box.getAttribute("x"), by = +box.getAttribute("y");
      var bw = +box.getAttribute("width"), bh = +box.getAttribute("height");
      var x = Math.max(0, Math.min(100, Math.round((px - bx) / bw * 100)));
      var y = Math.max(0, Math.min(100, Math.round((by + bh - py) / bh * 100)));
      xin.value = x; yin.value = y;
      marker.setAttribute("cx", bx + x / 100 * bw);
      marker.setAttribute("cy", by + bh - y / 100 * bh);
      marker.removeAttribute("hidden"); marker.removeAttribute("visibility");
      xin.dispatchEvent(new Event("change", { bubbles: true }));
    }
    svg.addEventListener("click", function (ev) {
      var pt = svg.createSVGPoint(); pt.x = ev.clientX; pt.y = ev.clientY;
      var p = pt.matrixTransform(svg.getScreenCTM().inverse());
      place(p.x, p.y);
    });
  });

  // Question editor: only the fields the chosen kind of question uses (<select data-question-type>
  // inside [data-question]; parts marked data-show-for="rating"). Without this every field shows.
  document.querySelectorAll("[data-question]").forEach(function (q) {
    var kind = q.querySelector("select[data-question-type]");
    if (!kind) return;
    function apply() {
      q.querySelectorAll("[data-show-for]").forEach(function (el) {
        el.hidden = el.getAttribute("data-show-for").split(" ").indexOf(kind.value) < 0;
      });
    }
    kind.addEventListener("change", apply);
    apply();
  });

  // The reviewee picker ([data-picker]): links and filter forms that change the view
  // ([data-keep-picked]) carry the people ticked on this page as ?picked=4,8,15, so switching
  // between the org chart and the list (or paging, filtering) keeps the selection.
  document.querySelectorAll("[data-picker]").forEach(function (root) {
    function picked() {
      var ids = [];
      root.querySelectorAll('input[name="ids[]"]:checked:not(:disabled)').forEach(function (b) {
        if (ids.indexOf(b.value) < 0) ids.push(b.value);
      });
      return ids.join(",");
    }
    root.addEventListener("click", function (ev) {
      var a = ev.target.closest && ev.target.closest("a[data-keep-picked]");
      if (!a) return;
      var u = new URL(a.getAttribute("href"), window.location.href);
      var p = picked();
      if (p) u.searchParams.set("picked", p); else u.searchParams.delete("picked");
      a.setAttribute("href", u.pathname + u.search);
    });
    root.addEventListener("submit", function (ev) {
      var f = ev.target;
      if (!f.hasAttribute("data-keep-picked")) return;
      var h = f.querySelector('input[name="picked"]');
      if (h) h.value = picked();
    }, true);
    // a select that submits its form by itself skips the submit event: fill the field first
    root.querySelectorAll("form[data-keep-picked] [data-autosubmit]").forEach(function (el) {
      el.addEventListener("change", function () {
        var h = el.form && el.form.querySelector('input[name="picked"]');
        if (h) h.value = picked();
      }, true);
    });
  });

  // Adding with the keyboard: Ctrl+Enter (or Cmd+Enter) in a <textarea data-submit-on-ctrl-enter>
  // sends its form, as Enter does in a one-line field.
  document.querySelectorAll("textarea[data-submit-on-ctrl-enter]").forEach(function (area) {
    area.addEventListener("keydown", function (ev) {
      if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey) && area.form) {
        ev.preventDefault();
        area.form.requestSubmit ? area.form.requestSubmit() : area.form.submit();
      }
    });
  });

  // Pages are built with DOM calls only in the type-aheads below: names are never parsed as HTML.
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  // As someone types two letters or more into input, asks url(q) for JSON (the last answer wins)
  // and hands it to render(data, q); clear() runs when the field is emptied.
  function typeahead(input, url, render, clear) {
    var timer = null, seq = 0;
    // data-suggest-multi: the box holds names separated by commas; the last one is looked up
    var multi = input.hasAttribute("data-suggest-multi");
    input.addEventListener("input", function () {
      clearTimeout(timer);
      var q = (multi ? input.value.split(",").pop() : input.value).trim();
      if (q.length < 2) { if (clear) clear(); return; }
      timer = setTimeout(function () {
        var mine = ++seq;
        fetch(url(q), { credentials: "same-origin", headers: { Accept: "application/json" } })
          .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
          .then(function (data) { if (mine === seq) render(data, q); })
          .catch(function () {});
      }, 200);
    });
  }

  // Suggestions for a text filter: <input list="ID" data-suggest="URL?...&q="> fills <datalist id=ID>
  // with the names the people API answers as you type (the browser shows them under the field, by
  // keyboard too); without script the typed text filters as it is.
  // data-suggest-value="email" puts that field in the box (the name shows beside it).
  // data-suggest-multi: names separated by commas; a suggestion completes the last one and keeps
  // those before it.
  document.querySelectorAll("input[data-suggest][list]").forEach(function (input) {
    var list = document.getElementById(input.getAttribute("list"));
    var field = input.getAttribute("data-suggest-value") || "name";
    var multi = input.hasAttribute("data-suggest-multi");
    if (!list) return;
    typeahead(input, function (q) {
      return input.getAttribute("data-suggest") + encodeURIComponent(q);
    }, function (data) {
      list.textContent = "";
      var before = "";
      if (multi) {
        var cut = input.value.lastIndexOf(",");
        if (cut >= 0) before = input.value.slice(0, cut + 1).replace(/\s*$/, " ");
      }
      (data.users || []).forEach(function (p) {
        var o = document.createElement("option");
        o.value = before + (p[field] || p.name);
        if (field !== "name") o.label = p.name;
        list.appendChild(o);
      });
    }, function () { list.textContent = ""; });
  });

  // Choosing a colleague (starting a 1:1): <form data-people-search="/api/users"
  // data-people-target="ID"> is a plain search; as you type, the matches from the people API
  // replace the radio buttons in #ID (name="with_id"), keeping the one already picked.
  document.querySelectorAll("form[data-people-search]").forEach(function (form) {
    var input = form.querySelector("input[type=search]");
    var box = document.getElementById(form.getAttribute("data-people-target"));
    if (!input || !box) return;
    var me = form.getAttribute("data-me");
    function choice(p, checked) {
      var label = el("label", "checkbox person-choice");
      var radio = el("input"); radio.type = "radio"; radio.name = "with_id"; radio.value = String(p.id);
      radio.checked = !!checked;
      var text = el("span");
      text.appendChild(el("span", "person-name", p.name));
      text.appendChild(document.createTextNode(" "));
      text.appendChild(el("span", "person-sub", [p.job_title, p.department].filter(Boolean).join(" · ")));
      label.appendChild(radio); label.appendChild(document.createTextNode(" ")); label.appendChild(text);
      return label;
    }
    typeahead(input, function (q) {
      return form.getAttribute("data-people-search") + "?per_page=8&q=" + encodeURIComponent(q);
    }, function (data, q) {
      var people = data.users || [];
      var kept = box.querySelector("input[name=with_id]:checked");
      var keptLabel = kept ? kept.closest("label") : null;
      box.textContent = "";
      if (keptLabel) box.appendChild(keptLabel);
      var shown = 0;
      people.forEach(function (p) {
        if (kept && String(p.id) === kept.value) return;
        if (String(p.id) === me) return;
        if (p.kind && p.kind !== "employee") return;
        if (p.status && p.status !== "active") return;
        box.appendChild(choice(p, false)); shown++;
      });
      if (!shown && !keptLabel) box.appendChild(el("p", "muted small", "Nobody matches \u201c" + q + "\u201d."));
    });
  });

  // Choosing 360 reviewers: <form data-typeahead="/api/...candidates"> with a search field; the
  // matches appear in [data-typeahead-results] as you type, each with an "Ask" button (a plain
  // form post, as without this script), and an outside address offers "invite as guest".
  document.querySelectorAll("form[data-typeahead]").forEach(function (form) {
    var input = form.querySelector("input[type=search]");
    var box = document.querySelector("[data-typeahead-results]");
    var action = form.getAttribute("action") + "/nominate";
    if (!input || !box) return;
    function post(fields, label) {
      var f = el("form", "inline-form");
      f.method = "post"; f.action = action;
      fields.csrf_token = csrf;
      Object.keys(fields).forEach(function (k) {
        var i = el("input"); i.type = "hidden"; i.name = k; i.value = fields[k]; f.appendChild(i);
      });
      var b = el("button", "btn btn-secondary btn-small", label); b.type = "submit"; f.appendChild(b);
      return f;
    }
    typeahead(input, function (q) {
      return form.getAttribute("data-typeahead") + "?q=" + encodeURIComponent(q);
    }, function (data, q) {
      box.textContent = "";
      var list = el("ul", "todo-list typeahead-list");
      (data.people || []).forEach(function (p) {
        var li = el("li");
        var who = el("span", "person");
        who.appendChild(el("span", "person-name", p.name));
        who.appendChild(el("span", "person-sub", p.kind === "guest" ? "Guest · " + p.email : (p.job_title || "")));
        li.appendChild(who);
        li.appendChild(p.taken ? el("span", "badge badge-muted", "asked already")
          : post({ reviewer_id: p.id }, "Ask " + p.name.split(/\s+/)[0]));
        list.appendChild(li);
      });
      if (list.children.length) box.appendChild(list);
      if (data.invite) {
        var f = post({ email: data.invite.email }, "Invite as guest");
        f.className = "form card-inset";
        var p = el("p"); p.appendChild(el("strong", "", data.invite.email));
        p.appendChild(document.createTextNode(" is not in Candor yet. Invite them as a guest: they get an account now and an invitation once the reviewers are approved."));
        f.insertBefore(p, f.firstChild);
        var field = el("div", "field"); var lab = el("label", "", "Their name"); lab.htmlFor = "guest-name-js";
        var name = el("input"); name.type = "text"; name.name = "name"; name.id = "guest-name-js"; name.maxLength = 120;
        field.appendChild(lab); field.appendChild(name);
        f.insertBefore(field, f.lastChild);
        box.appendChild(f);
      } else if (!list.children.length) {
        box.appendChild(el("p", "muted small", "Nobody matches \u201c" + q + "\u201d." + (data.invite_refused ? " " + data.invite_refused : "")));
      } else if (data.invite_refused) {
        box.appendChild(el("p", "muted small", data.invite_refused));
      }
    }, function () { box.textContent = ""; });
  });

  // A file chosen in <input type="file" data-fill="ID"> fills the textarea #ID with its text (the
  // import's CSV): the server still gets only the text, checked before anything changes. The
  // field is hidden until this script shows it (without JavaScript one pastes the text).
  document.querySelectorAll("input[type=file][data-fill]").forEach(function (input) {
    var target = document.getElementById(input.getAttribute("data-fill"));
    var field = input.closest("[data-file-field]");
    if (!target) return;
    if (field) field.hidden = false;
    input.addEventListener("change", function () {
      var file = input.files && input.files[0];
      if (!file) return;
      var reader = new FileReader();
      reader.onload = function () {
        target.value = String(reader.result).replace(/^\uFEFF/, "");
        target.focus();
      };
      reader.readAsText(file, "utf-8");
    });
  });

  // A page about work in progress (an import): <section data-refresh="2000"> reloads it after
  // that many milliseconds while the section is there (the page also has a Refresh link).
  var refresh = document.querySelector("[data-refresh]");
  if (refresh) {
    var ms = parseInt(refresh.getAttribute("data-refresh"), 10);
    if (ms >= 500) setTimeout(function () { window.location.reload(); }, ms);
  }
})();
