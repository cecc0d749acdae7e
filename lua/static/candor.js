// Candor: small progressive enhancements. Every page works without this file.
(function () {
  "use strict";

  // Confirmation before destructive actions: <form data-confirm="Delete this cycle?">.
  var dialog = document.getElementById("confirm-dialog");
  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    // the button pressed may ask instead of the form; its name=value must survive the confirm
    var by = ev.submitter && ev.submitter.form === form ? ev.submitter : null;
    var text = (by && by.getAttribute("data-confirm")) || form.getAttribute("data-confirm");
    if (!text || form.dataset.confirmed === "1") return;
    ev.preventDefault();
    if (!dialog || typeof dialog.showModal !== "function") {
      if (window.confirm(text)) { form.dataset.confirmed = "1"; form.requestSubmit ? form.requestSubmit(by) : form.submit(); }
      return;
    }
    document.getElementById("confirm-text").textContent = text;
    var ok = document.getElementById("confirm-ok");
    ok.textContent = (by && by.getAttribute("data-confirm-button")) || form.getAttribute("data-confirm-button") || "Confirm";
    dialog.returnValue = "";
    dialog.showModal();
    dialog.addEventListener("close", function onClose() {
      dialog.removeEventListener("close", onClose);
      if (dialog.returnValue === "ok") { form.dataset.confirmed = "1"; form.requestSubmit ? form.requestSubmit(by) : form.submit(); }
    });
  }, true);

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
    document.body.classList.remove("nav-open");
  });

  // Mobile navigation toggle.
  document.querySelectorAll("[data-toggle-nav]").forEach(function (b) {
    b.addEventListener("click", function () { document.body.classList.toggle("nav-open"); });
  });

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

  // Type-ahead for choosing 360 reviewers: <form data-typeahead="/api/...candidates"> with a
  // search field; the matches appear in [data-typeahead-results] as you type, each with an "Ask"
  // button (a plain form post, as without this script), and an outside address offers "invite
  // as guest". Built with DOM calls only: names are never parsed as HTML.
  document.querySelectorAll("form[data-typeahead]").forEach(function (form) {
    var input = form.querySelector("input[type=search]");
    var box = document.querySelector("[data-typeahead-results]");
    var action = form.getAttribute("action") + "/nominate";
    if (!input || !box) return;
    var timer = null, seq = 0;
    function el(tag, cls, text) {
      var e = document.createElement(tag);
      if (cls) e.className = cls;
      if (text !== undefined) e.textContent = text;
      return e;
    }
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
    function render(data, q) {
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
    }
    input.addEventListener("input", function () {
      clearTimeout(timer);
      var q = input.value.trim();
      if (q.length < 2) { box.textContent = ""; return; }
      timer = setTimeout(function () {
        var mine = ++seq;
        fetch(form.getAttribute("data-typeahead") + "?q=" + encodeURIComponent(q), { credentials: "same-origin",
          headers: { Accept: "application/json" } })
          .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
          .then(function (data) { if (mine === seq) render(data, q); })
          .catch(function () {});
      }, 250);
    });
  });
})();
