// Search analytics: when a reader opens a hit (any link of it, with any mouse button or the keyboard), tell the
// server which one, with the search's random id; nothing else is sent. The link itself is left as it is.
(function () {
  "use strict";
  var results = document.querySelector("[data-search]");
  if (!results || !navigator.sendBeacon) return;
  var search = results.getAttribute("data-search");
  function report(event) {
    var link = event.target.closest ? event.target.closest("a[href]") : null;
    var hit = link ? link.closest(".hit[data-passage]") : null;
    if (!hit || !results.contains(hit)) return;
    navigator.sendBeacon("/api/analytics/opened?search_id=" + encodeURIComponent(search) + "&passage_id=" +
                         encodeURIComponent(hit.getAttribute("data-passage")));
  }
  results.addEventListener("click", report);
  results.addEventListener("auxclick", report);
})();
