/* The admin's live event page: /ws/events/ with the session cookie, newest first.
   No build step, no dependency. Filter by name, pause/resume, expand an event's JSON,
   a marker for {"type": "missed"} and for reconnections (with backoff) after the server went away. */
(function () {
  "use strict";
  var MAX_SHOWN = 500;
  var root, list, status, filter, pauseButton, counts;
  var paused = false, held = [], received = 0, socket = null, retry = 0, everOpen = false, hadLoss = false;

  function setStatus(state, text) {
    status.dataset.state = state;
    status.textContent = text;
  }

  function matches(item) {
    var wanted = filter.value;
    return !wanted || item.dataset.kind !== "event" || item.dataset.event === wanted;
  }

  function applyFilter() {
    var items = list.children;
    for (var i = 0; i < items.length; i++) items[i].hidden = !matches(items[i]);
  }

  function prepend(item) {
    item.hidden = !matches(item);
    list.insertBefore(item, list.firstChild);
    while (list.children.length > MAX_SHOWN) list.removeChild(list.lastChild);
  }

  function marker(kind, text) {
    var item = document.createElement("li");
    item.className = kind;
    item.dataset.kind = kind;
    item.textContent = new Date().toLocaleTimeString() + " — " + text;
    prepend(item);
  }

  function eventItem(envelope) {
    var item = document.createElement("li");
    item.className = "event";
    item.dataset.kind = "event";
    item.dataset.event = envelope.event_name;
    var details = document.createElement("details");
    var summary = document.createElement("summary");
    var when = envelope.timestamp || envelope.occurred_at || "";
    var code = document.createElement("code");
    code.textContent = envelope.event_name;
    summary.appendChild(code);
    summary.appendChild(document.createTextNode(" " + when + (envelope.id ? " · " + envelope.id : "")));
    var pre = document.createElement("pre");
    pre.className = "event-json";
    pre.textContent = JSON.stringify(envelope, null, 2);
    details.appendChild(summary);
    details.appendChild(pre);
    item.appendChild(details);
    return item;
  }

  function showCounts() {
    counts.textContent = received + " received" + (held.length ? ", " + held.length + " held while paused" : "");
  }

  function onMessage(message) {
    var data;
    try { data = JSON.parse(message.data); } catch (e) { return; }
    if (data && data.type === "missed") {
      var n = data.count === null || data.count === undefined ? "an unknown number of" : data.count;
      var item = document.createElement("li");
      item.className = "missed";
      item.dataset.kind = "missed";
      item.textContent = new Date().toLocaleTimeString() + " — missed " + n + " event(s): the server could not relay them";
      if (paused) held.push(item); else prepend(item);
      return;
    }
    if (!data || !data.event_name) return; // subscribed / error answers: nothing to show
    received += 1;
    var entry = eventItem(data);
    if (paused) held.push(entry); else prepend(entry);
    showCounts();
  }

  function connect() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    setStatus("connecting", everOpen ? "Reconnecting…" : "Connecting…");
    socket = new WebSocket(scheme + location.host + root.dataset.wsPath);
    socket.onopen = function () {
      if (everOpen && hadLoss) {
        marker("reconnected", "reconnected after the connection was lost: events sent meanwhile are not shown");
      }
      everOpen = true;
      hadLoss = false;
      retry = 0;
      setStatus("open", "Connected");
    };
    socket.onmessage = onMessage;
    socket.onclose = function (closeEvent) {
      socket = null;
      if (closeEvent.code === 4401) {
        setStatus("closed", "Not logged in (or the session ended): reload the page after logging in.");
        return;
      }
      if (everOpen && !hadLoss) marker("disconnected", "connection lost; reconnecting");
      hadLoss = true;
      var delay = Math.min(10000, 500 * Math.pow(2, retry));
      retry += 1;
      setStatus("closed", "Disconnected — retrying in " + Math.round(delay / 1000) + " s");
      window.setTimeout(connect, delay);
    };
  }

  function togglePause() {
    paused = !paused;
    pauseButton.textContent = paused ? "Resume" : "Pause";
    pauseButton.setAttribute("aria-pressed", paused ? "true" : "false");
    if (!paused) {
      held.forEach(prepend);
      held = [];
    }
    showCounts();
  }

  document.addEventListener("DOMContentLoaded", function () {
    root = document.querySelector(".hooks-live");
    list = document.getElementById("live-events");
    status = document.getElementById("live-status");
    filter = document.getElementById("live-filter");
    pauseButton = document.getElementById("live-pause");
    counts = document.getElementById("live-counts");
    filter.addEventListener("change", applyFilter);
    pauseButton.addEventListener("click", togglePause);
    document.getElementById("live-clear").addEventListener("click", function () {
      list.textContent = "";
      held = [];
      received = 0;
      showCounts();
    });
    showCounts();
    connect();
  });
})();
