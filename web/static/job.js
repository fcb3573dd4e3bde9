// Follows an ingestion job (GET /api/jobs/{id} with the session cookie) and updates its state and progress (a
// recording's: the seconds transcribed);
// reloads the page once the job is done or failed, so that the links and any error appear.
(function () {
  "use strict";
  var box = document.querySelector("[data-job]");
  if (!box || box.dataset.state === "done" || box.dataset.state === "failed") return;
  var labels = document.getElementById("job-labels").content;
  function label(kind, value) {
    var el = labels.querySelector("[data-" + kind + "='" + value + "']");
    return el ? el.textContent : value;
  }
  var bar = box.querySelector("[data-job-progress]");
  var rateEl = box.querySelector("[data-job-rate]");
  // "42 of 120 seconds transcribed" while a recording is transcribed (and after)
  var secondsEl = box.querySelector("[data-job-seconds]");
  var lang = document.documentElement.lang;
  // "40 s", "3 min", "1 h 05 min": as ingest.progress.short_duration says it
  function duration(seconds) {
    var s = Math.max(Math.round(seconds), 0);
    if (s < 90) return s + " s";
    var m = Math.round(s / 60);
    if (m < 60) return m + " min";
    return Math.floor(m / 60) + " h " + String(m % 60).padStart(2, "0") + " min";
  }
  // "12.3 passages/s, about 40 s left" while embedding at a known rate (web.templating.job_rate), else ""
  function rateText(p) {
    if (p.stage !== "embedding" || p.rate === null || p.rate === undefined) return "";
    var rate = Number(p.rate).toFixed(1);
    if (lang === "fr") rate = rate.replace(".", ",");
    if (p.eta_seconds === null || p.eta_seconds === undefined) return label("msg", "rate").replace("{rate}", rate);
    return label("msg", "rate_eta").replace("{rate}", rate).replace("{eta}", duration(p.eta_seconds));
  }
  function poll() {
    fetch(box.dataset.job, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (job) {
        var stateEl = box.querySelector("[data-job-state]");
        stateEl.textContent = label("state", job.state);
        stateEl.className = "state state-" + job.state;
        box.querySelector("[data-job-stage]").textContent = label("stage", job.progress.stage);
        if (job.progress.total) { bar.max = job.progress.total; bar.value = job.progress.done || 0; }
        var p = job.progress;
        if (p.seconds_total) {
          secondsEl.textContent = label("msg", "seconds").replace("{done}", p.seconds || 0).replace("{total}", p.seconds_total);
          secondsEl.hidden = false;
        }
        rateEl.textContent = rateText(job.progress);
        rateEl.hidden = !rateEl.textContent;
        if (job.state === "done" || job.state === "failed") { location.reload(); return; }
        setTimeout(poll, 1000);
      })
      .catch(function () { setTimeout(poll, 3000); });
  }
  setTimeout(poll, 500);
})();
