// Signing with a USB token through the local signer agent (hocba signer-agent).
// This page never sees the PIN: it reads the certificate from the agent, the server prepares the
// digests and says what they are, the agent shows the batch in its own window (its own origin,
// which no page can read) where the teacher types the PIN, and this page collects the values
// with the batch's secret and hands them to the server in chunks.
// The words come from the page (data-text-* on the form), in the user's language.
(function () {
  "use strict";
  function fill(text, values) {
    return (text || "").replace(/\{(\w+)\}/g, function (all, name) {
      return name in values ? String(values[name]) : all;
    });
  }
  function sleep(ms) {
    return new Promise(function (resolve) { setTimeout(resolve, ms); });
  }
  async function json(url, body, csrf, texts) {
    var sameOrigin = Boolean(csrf);
    var headers = { "Content-Type": "application/json" };
    if (sameOrigin) headers["X-CSRFToken"] = csrf;
    var response = await fetch(url, {
      method: "POST", headers: headers, body: JSON.stringify(body),
      credentials: sameOrigin ? "same-origin" : "omit",
    });
    var data = {};
    try { data = await response.json(); } catch (e) { /* not JSON */ }
    if (!response.ok) {
      var err = data.error || {};
      var message = typeof err === "string" ? (data.message || err) : (err.message || fill(texts.textError, { status: response.status }));
      throw new Error(message);
    }
    return data;
  }
  // Wait for the teacher's decision in the agent's window (until the agent forgets the batch);
  // the values, in the digests' order. A closed window can be opened again from the link.
  async function collect(agent, batch, popup, texts, status, link) {
    for (;;) {
      await sleep(800);
      var answer = await json(agent + "/v1/batches/" + batch.batch, { secret: batch.secret }, "", texts);
      if (answer.state === "SIGNED") return answer.signatures;
      if (answer.state === "REFUSED") throw new Error(texts.textRefused);
      status.textContent = answer.stopped ? texts.textStopped : texts.textConfirm;
      if (link.hidden && (!popup || popup.closed)) {
        link.href = batch.confirm;
        link.textContent = popup ? texts.textClosed : texts.textBlocked;
        link.hidden = false;
      }
    }
  }
  function sign(form) {
    var status = form.querySelector(".sign-status");
    var bar = form.querySelector("progress");
    var button = form.querySelector("button");
    var link = form.querySelector("a.agent-window");
    var agent = form.dataset.agent.replace(/\/$/, "");
    var key = { token: form.token.value, key: form.key.value };
    var texts = form.dataset;
    // Opened now, while the click still counts as the user's, and sent to the agent's page once
    // the batch is registered (a window opened later would be blocked).
    var popup = window.open("", "hocba-signer", "popup,width=640,height=780");
    if (popup) {
      try { popup.document.title = texts.textOpening; popup.document.body.textContent = texts.textOpening; } catch (e) { /* not ours */ }
    }
    button.disabled = true;
    bar.hidden = false;
    link.hidden = true;
    status.textContent = texts.textReading;
    (async function () {
      try {
        var cert = await json(agent + "/v1/certificate", key, "", texts);
        status.textContent = texts.textPreparing;
        var prepared = await json(form.dataset.prepare, { group: form.dataset.group, certificate: cert.certificate }, form.dataset.csrf, texts);
        bar.max = prepared.total || 1;
        var values = {};
        if (prepared.total > 0) {
          var batch = await json(agent + "/v1/batches", Object.assign({ digests: prepared.digests, about: prepared.batch }, key), "", texts);
          if (popup && !popup.closed) popup.location.href = batch.confirm;
          status.textContent = texts.textConfirm;
          var signatures = await collect(agent, batch, popup, texts, status, link);
          if (popup && !popup.closed) popup.close();
          link.hidden = true;
          prepared.digests.forEach(function (d, i) { values[d] = signatures[i]; });
        } else if (popup) {
          popup.close();
        }
        status.textContent = fill(texts.textProgress, { done: 0, total: prepared.total, percent: "0%" });
        var state = { finished: prepared.total === 0, done: 0, total: prepared.total, signed: 0, failed: prepared.failed };
        while (!state.finished) {
          state = await json(form.dataset.complete, { session: prepared.session, values: values }, form.dataset.csrf, texts);
          bar.value = state.done;
          status.textContent = fill(texts.textProgress, {
            done: state.done, total: state.total,
            percent: Math.round(100 * state.done / Math.max(1, state.total)) + "%",
          });
        }
        status.textContent = fill(texts.textDone, { percent: "100%", signed: state.signed }) +
          (state.failed.length ? fill(texts.textSomeFailed, { failed: state.failed.length }) : "") + ".";
        setTimeout(function () { window.location.reload(); }, 1200);
      } catch (error) {
        if (popup && !popup.closed) popup.close();
        link.hidden = true;
        status.textContent = fill(texts.textFailed, { error: error.message });
        button.disabled = false;
      }
    })();
  }
  document.querySelectorAll("form.agent-sign").forEach(function (form) {
    form.addEventListener("submit", function (event) { event.preventDefault(); sign(form); });
  });
})();
