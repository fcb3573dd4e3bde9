// Follows an ingestion job (GET /api/jobs/{id} with the session cookie) and updates its state and progress;
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
  function poll() {
    fetch(box.dataset.job, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (job) {
        var stateEl = box.querySelector("[data-job-state]");
        stateEl.textContent = label("state", job.state);
        stateEl.className = "state state-" + job.state;
        box.querySelector("[data-job-stage]").textContent = label("stage", job.progress.stage);
        if (job.progress.total) { bar.max = job.progress.total; bar.value = job.progress.done || 0; }
        if (job.state === "done" || job.state === "failed") { location.reload(); return; }
        setTimeout(poll, 1000);
      })
      .catch(function () { setTimeout(poll, 3000); });
  }
  setTimeout(poll, 500);
})();
