/* o2o-sdk store-locator widget. Paste into any page:
 *   <div data-o2o-stores data-sku="SKU-1" data-service="pickup"></div>
 *   <script src="https://your-shop.example/o2o/widget.js" async></script>
 * Options (data-*): k (1-20), open ("now" | "any"), service, sku, offer, label.
 * Asks the browser for its position; without it, looks up a postcode or town (o2o_geocode hook).
 * Server data is inserted as text only, never as HTML. */
(function () {
  "use strict";
  var script = document.currentScript || document.querySelector("script[src$='/widget.js']");
  if (!script) { return; }
  var base = script.getAttribute("data-o2o-base") || script.src.replace(/(?:\/static)?\/widget\.js(?:[?#].*)?$/, "");
  var DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
  var seq = 0;

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  function distance(m) {
    return m < 1000 ? Math.round(m) + " m" : (m / 1000).toFixed(m < 10000 ? 1 : 0) + " km";
  }

  function addStyles() {
    if (document.querySelector("link[data-o2o-widget-css]")) { return; }
    var link = document.createElement("link");
    link.rel = "stylesheet";
    link.href = base + "/static/widget.css";
    link.setAttribute("data-o2o-widget-css", "");
    document.head.appendChild(link);
  }

  function init(box) {
    if (box.getAttribute("data-o2o-init")) { return; }
    box.setAttribute("data-o2o-init", "1");
    var id = "o2o-q-" + (++seq);
    var opts = box.dataset;
    var fallback = Array.prototype.slice.call(box.childNodes);
    var wrap = el("div", "o2o-widget");
    var form = el("form");
    form.setAttribute("role", "search");
    var field = el("div");
    var label = el("label", "", opts.label || "Postcode or town");
    label.htmlFor = id;
    var input = el("input");
    input.id = id; input.type = "search"; input.name = "q"; input.autocomplete = "postal-code";
    field.appendChild(label); field.appendChild(input);
    var find = el("button", "", "Find stores");
    find.type = "submit";
    var locate = el("button", "o2o-w-secondary", "Use my location");
    locate.type = "button";
    form.appendChild(field); form.appendChild(find);
    if (navigator.geolocation) { form.appendChild(locate); }
    var status = el("p", "o2o-w-status");
    status.setAttribute("role", "status");
    status.setAttribute("aria-live", "polite");
    var list = el("ol", "o2o-w-list");
    list.setAttribute("aria-label", "Nearest stores");
    fallback.forEach(function (n) { box.removeChild(n); });
    var before = el("div", "o2o-w-fallback");
    fallback.forEach(function (n) { before.appendChild(n); });
    wrap.appendChild(form); wrap.appendChild(status); wrap.appendChild(before); wrap.appendChild(list);
    box.appendChild(wrap);

    function search(params) {
      var q = new URLSearchParams(params);
      q.set("k", opts.k || "5");
      q.set("open", opts.open || "now");
      if (opts.service) { q.set("service", opts.service); }
      if (opts.sku) { q.set("sku", opts.sku); }
      if (opts.offer) { q.set("offer", opts.offer); }
      status.textContent = "Looking for stores…";
      box.setAttribute("aria-busy", "true");
      fetch(base + "/api/stores/near?" + q.toString(), { credentials: "omit", headers: { Accept: "application/json" } })
        .then(function (r) { return r.json().then(function (data) { return { ok: r.ok, data: data }; }); })
        .then(function (res) {
          box.removeAttribute("aria-busy");
          if (!res.ok) { status.textContent = (res.data.error && res.data.error.message) || "Something went wrong."; return; }
          render(res.data);
        })
        .catch(function () { box.removeAttribute("aria-busy"); status.textContent = "The store list could not be loaded."; });
    }

    function render(data) {
      list.textContent = "";
      before.textContent = "";
      var stores = data.stores || [];
      if (!data.origin) { status.textContent = data.message || "We could not find that place."; }
      else if (!stores.length) { status.textContent = opts.open === "any" ? "No stores found." : "No store is open near you right now."; }
      else {
        status.textContent = stores.length + " store" + (stores.length > 1 ? "s" : "") + " near " +
          (data.origin.label || "you") + ", nearest first.";
      }
      stores.forEach(function (s) {
        var li = el("li", "o2o-w-store");
        li.setAttribute("data-store-id", s.id);
        li.appendChild(el("h3", "", s.name));
        if (s.address) { li.appendChild(el("p", "o2o-w-muted", s.address)); }
        var line = el("p");
        line.appendChild(el("span", s.open ? "o2o-w-open" : "o2o-w-closed", s.status_text));
        line.appendChild(document.createTextNode(" · " + distance(s.distance_m)));
        li.appendChild(line);
        if (s.services && s.services.length) { li.appendChild(el("p", "", "Services: " + s.services.join(", "))); }
        if (opts.sku) {
          var qty = (s.stock || {})[opts.sku];
          li.appendChild(el("p", "", qty > 0 ? "In stock: " + qty : "Out of stock"));
        }
        if (s.hours && s.hours.weekly) {
          var det = el("details");
          det.appendChild(el("summary", "", "Opening hours"));
          var ul = el("ul");
          DAYS.forEach(function (d) {
            var spans = s.hours.weekly[d];
            ul.appendChild(el("li", "", d.charAt(0).toUpperCase() + d.slice(1) + ": " + (spans && spans.length ? spans.join(", ") : "closed")));
          });
          det.appendChild(ul);
          li.appendChild(det);
        }
        list.appendChild(li);
      });
      box.setAttribute("data-o2o-ready", "1");
    }

    function geolocate() {
      status.textContent = "Finding your position…";
      navigator.geolocation.getCurrentPosition(
        function (pos) { search({ lat: pos.coords.latitude.toFixed(6), lon: pos.coords.longitude.toFixed(6) }); },
        function () { status.textContent = "Type a postcode or town to find stores near you."; input.focus(); },
        { timeout: 10000, maximumAge: 300000 }
      );
    }

    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var text = input.value.trim();
      if (text) { search({ q: text }); }
    });
    locate.addEventListener("click", geolocate);
    if (navigator.geolocation) { geolocate(); }
    else { status.textContent = "Type a postcode or town to find stores near you."; }
  }

  function start() {
    addStyles();
    Array.prototype.forEach.call(document.querySelectorAll("[data-o2o-stores]"), init);
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
