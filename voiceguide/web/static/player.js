"use strict";
// The voiceguide player: one rendered track in an <audio> element (it keeps playing when a
// phone locks its screen, where Web Audio timers stop), steered by the plan JSON. Every
// time comes from the plan; nothing here computes a schedule of its own.
(function () {
  const $ = (id) => document.getElementById(id);
  const audio = $("audio");
  const video = $("keep-awake");
  const config = JSON.parse($("config").textContent);
  let plan, events, sections, waits, repsOf;
  let waiting = null; // the `wait: true` event the track is stopped at
  let lastT = 0; // where the track was at the last tick: a wait crossed since then stops it
  let active = false; // a session is under way (playing, or stopped at a wait)
  let lock = null;
  let awakeMode = "off";
  let shownKey = "";

  // -- the plan ------------------------------------------------------------------------

  function setPlan(json) {
    plan = json;
    events = plan.events;
    waits = events.filter((e) => e.kind === "wait");
    sections = [];
    let lastStepEvent = -1;
    events.forEach((e, i) => {
      if (e.step == null) {
        if (i === 0) sections.push({ name: "Intro", step: null, start: 0 });
        return;
      }
      lastStepEvent = i;
      const cur = sections[sections.length - 1];
      if (!cur || cur.step !== e.step) sections.push({ name: e.step, step: e.step, start: e.start });
    });
    const outro = events.findIndex((e, i) => i > lastStepEvent && e.kind === "speech");
    if (lastStepEvent >= 0 && outro >= 0) sections.push({ name: "End", step: null, start: events[outro].start });
    if (!sections.length) sections.push({ name: plan.title, step: null, start: 0 });
    repsOf = new Map();
    for (const e of events) {
      if (e.rep == null) continue;
      const key = e.step + "\u0000" + e.side;
      repsOf.set(key, Math.max(repsOf.get(key) || 0, e.rep));
    }
    let n = 0;
    for (const s of sections) s.number = s.step == null ? null : ++n;
    sections.steps = n;
    buildStepList();
    $("settings").textContent = settingsText();
    shownKey = "";
  }

  function lastIndex(list, t) {
    // The last item whose start is at or before t (binary search; items sorted by start).
    let lo = 0, hi = list.length - 1, found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (list[mid].start <= t + 1e-6) { found = mid; lo = mid + 1; } else hi = mid - 1;
    }
    return found;
  }
  const sectionIndex = (t) => Math.max(0, lastIndex(sections, t));
  const eventIndex = (t) => Math.max(0, lastIndex(events, Math.min(t, plan.total - 1e-6)));
  const waitAt = (t) => waits.find((w) => w.start <= t + 1e-6 && t < w.end - 1e-6) || null;

  function lastSpeech(t, since = -Infinity) {
    for (let i = eventIndex(t); i >= 0 && events[i].start >= since - 1e-6; i--) {
      if (events[i].kind === "speech") return events[i];
    }
    return null;
  }

  function instruction(t, since) {
    // The words to read: the last cue said in this step, leaving out the counts and
    // `each` texts of repetitions (the repetition line shows where the count is).
    for (let i = eventIndex(t); i >= 0 && events[i].start >= since - 1e-6; i--) {
      if (events[i].kind === "speech" && events[i].rep == null) return events[i].text;
    }
    const said = lastSpeech(t, since);
    return said ? said.text : "";
  }

  // -- what the page shows -------------------------------------------------------------

  function clock(seconds) {
    const s = Math.max(0, Math.round(seconds));
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = String(s % 60).padStart(2, "0");
    return h ? `${h}:${String(m).padStart(2, "0")}:${r}` : `${m}:${r}`;
  }
  const cap = (text) => (text ? text.charAt(0).toUpperCase() + text.slice(1) : "");

  function settingsText() {
    const o = config.options || {};
    const parts = [`${clock(plan.total)} at pace ${Number(plan.pace.toFixed(3))}`];
    if (o.reps) parts.push(`repetitions ${o.reps}`);
    if (o.rate) parts.push(`${o.rate} wpm`);
    if (o.fit) parts.push(`fitted to ${o.fit}`);
    if (!config.live) parts.push("offline copy");
    return parts.join(" · ");
  }

  function state(t) {
    const i = sectionIndex(t);
    const section = sections[i];
    const e = events[eventIndex(t)];
    let side = null, rep = null;
    if (section.step != null && e.step === section.step) {
      side = e.side;
      for (let j = eventIndex(t); j >= 0 && events[j].step === section.step && events[j].side === side; j--) {
        if (events[j].rep != null) { rep = events[j].rep; break; }
      }
    }
    const caption = instruction(t, section.start);
    const end = i + 1 < sections.length ? sections[i + 1].start : plan.total;
    return {
      t, index: i, section, side, rep, caption, end,
      reps: side !== undefined ? repsOf.get(section.step + "\u0000" + side) || null : null,
      next: i + 1 < sections.length ? sections[i + 1].name : null,
      waiting: !!waiting, playing: !audio.paused,
    };
  }

  function label(s) {
    return s.section.name + (s.side ? ` (${s.side})` : "");
  }

  function render() {
    const t = audio.currentTime || 0;
    const s = state(t);
    $("step").textContent = audio.ended ? "Done" : s.section.name;
    $("where").textContent = s.section.number ? `Step ${s.section.number} of ${sections.steps}` : "";
    const detail = [];
    if (s.side) detail.push(cap(s.side) + " side");
    if (s.rep && s.reps) detail.push(`Repetition ${s.rep} of ${s.reps}`);
    $("detail").textContent = detail.join(" · ");
    $("caption").textContent = s.caption || "";
    $("elapsed").textContent = clock(t);
    $("left").textContent = "−" + clock(plan.total - t) + " left";
    $("next").textContent = s.next ? `Next: ${s.next}` : "Last step";
    const span = Math.max(1e-6, s.end - s.section.start);
    $("fill").style.width = `${Math.min(100, (100 * (t - s.section.start)) / span)}%`;
    const limited = !waiting && waitAt(t);
    const note = $("wait");
    note.hidden = !(waiting || (limited && !audio.paused));
    if (limited) note.textContent = `Take your time: going on in ${clock(limited.end - t)}, or press Next step.`;
    else note.innerHTML = "Waiting for you. Press <strong>Play</strong> or <strong>Next step</strong> when you are ready.";
    const playing = !audio.paused;
    $("play-label").textContent = playing ? "Pause" : "Play";
    $("play-path").setAttribute("d", playing ? "M6 4h4v16H6zM14 4h4v16h-4z" : "M7 4v16l13-8z");
    document.querySelectorAll("#steps button").forEach((b, j) => {
      if (j === s.index) b.setAttribute("aria-current", "step"); else b.removeAttribute("aria-current");
    });
    const key = label(s) + "|" + s.index;
    if (key !== shownKey) {
      shownKey = key;
      if ("mediaSession" in navigator && "MediaMetadata" in window) {
        navigator.mediaSession.metadata = new MediaMetadata({
          title: label(s), artist: plan.title, album: "voiceguide",
        });
      }
    }
  }

  function buildStepList() {
    const list = $("steps");
    list.textContent = "";
    sections.forEach((s) => {
      const li = document.createElement("li");
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = (s.number ? s.number + ". " : "") + s.name;
      b.addEventListener("click", () => { seek(s.start); start(); });
      li.appendChild(b);
      list.appendChild(li);
    });
  }

  // -- steering ------------------------------------------------------------------------

  function seek(t) {
    waiting = null;
    audio.currentTime = Math.max(0, Math.min(t, plan.total));
    lastT = audio.currentTime;
    position();
    render();
  }

  function start() {
    if (waiting) return goOn();
    if (audio.ended || audio.currentTime >= plan.total - 0.05) seek(0);
    const played = audio.play();
    if (played) played.catch((err) => { $("caption").textContent = "Press Play to start (" + err.name + ")."; });
    keepAwake(true);
  }

  function pause() {
    waiting = null;
    audio.pause();
    keepAwake(false);
    render();
  }

  function toggle() {
    if (waiting || audio.paused) start(); else pause();
  }

  function goOn() {
    const w = waiting;
    waiting = null;
    if (w) seek(w.end);
    start();
  }

  function stopAt(w) {
    audio.pause();
    audio.currentTime = w.start;
    lastT = w.start;
    waiting = w; // after pause(): the pause event must not end the session
    if ("mediaSession" in navigator) navigator.mediaSession.playbackState = "paused";
    render();
  }

  function nextStep() {
    if (waiting) return goOn();
    const t = audio.currentTime;
    const w = waitAt(t);
    if (w) return seek(w.end);
    const i = sectionIndex(t);
    if (i + 1 < sections.length) seek(sections[i + 1].start);
    else { seek(plan.total); pause(); }
  }

  function previousStep() {
    const resume = !!waiting;
    const t = audio.currentTime;
    const i = sectionIndex(t);
    // Within 3 s of a step's start (or pressed twice): the step before; else this one again.
    seek(t - sections[i].start > 3 || i === 0 ? sections[i].start : sections[i - 1].start);
    if (resume) start();
  }

  function repeat() {
    const cue = lastSpeech(audio.currentTime);
    seek(cue ? cue.start : 0);
    start();
  }

  function tick() {
    const t = audio.currentTime;
    if (!audio.paused && !waiting) {
      const w = waits.find((x) => x.until_ready && x.start >= lastT - 1e-3 && x.start <= t + 0.02);
      if (w) return stopAt(w);
    }
    lastT = t;
    render();
  }

  function frame() {
    tick();
    if (!audio.paused) requestAnimationFrame(frame);
  }

  // A timer for the next wait too: animation frames stop when the page is hidden, and
  // timeupdate comes only every quarter second or so.
  let timer = 0;
  function armTimer() {
    clearTimeout(timer);
    if (audio.paused) return;
    const t = audio.currentTime;
    const w = waits.find((x) => x.until_ready && x.start >= t);
    if (w) timer = setTimeout(() => { tick(); armTimer(); }, Math.max(0, (w.start - t) * 1000 - 10));
  }

  function position() {
    if ("mediaSession" in navigator && navigator.mediaSession.setPositionState && plan.total > 0) {
      try {
        navigator.mediaSession.setPositionState({
          duration: plan.total, playbackRate: 1, position: Math.min(audio.currentTime || 0, plan.total),
        });
      } catch (e) { /* an older browser without position state */ }
    }
  }

  // -- the screen stays on while a session is under way --------------------------------

  async function keepAwake(on) {
    active = on;
    if (!on) {
      if (lock) { const l = lock; lock = null; l.release().catch(() => {}); }
      video.pause();
      awakeMode = "off";
      $("awake").textContent = "";
      return;
    }
    if ("wakeLock" in navigator) {
      try {
        if (!lock) {
          lock = await navigator.wakeLock.request("screen");
          lock.addEventListener("release", () => { lock = null; });
        }
        awakeMode = "wake-lock";
        $("awake").textContent = "The screen stays on while the routine plays.";
        return;
      } catch (e) { /* not allowed here (no secure context, battery saver): the fallback */ }
    }
    // Fallback: a muted, looping, inline video keeps phones awake where Wake Lock is
    // missing (older iOS, and any page over plain http on a LAN address).
    try {
      await video.play();
      awakeMode = "video";
      $("awake").textContent = "The screen stays on while the routine plays (video fallback).";
    } catch (e) {
      awakeMode = "none";
      $("awake").textContent = "This browser may turn the screen off; the sound goes on.";
    }
  }
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible" && active) keepAwake(true);
  });

  // -- wiring --------------------------------------------------------------------------

  $("play").addEventListener("click", toggle);
  $("next-step").addEventListener("click", nextStep);
  $("prev").addEventListener("click", previousStep);
  $("repeat").addEventListener("click", repeat);
  audio.addEventListener("timeupdate", tick);
  audio.addEventListener("play", () => {
    if ("mediaSession" in navigator) navigator.mediaSession.playbackState = "playing";
    position(); armTimer(); requestAnimationFrame(frame);
  });
  audio.addEventListener("pause", () => {
    clearTimeout(timer);
    if ("mediaSession" in navigator) navigator.mediaSession.playbackState = "paused";
    position(); render();
  });
  audio.addEventListener("seeked", armTimer);
  audio.addEventListener("ended", () => { waiting = null; keepAwake(false); render(); });
  document.addEventListener("keydown", (ev) => {
    if (ev.target !== document.body || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    const act = { " ": toggle, n: nextStep, p: previousStep, r: repeat }[ev.key];
    if (act) { ev.preventDefault(); act(); }
  });
  if ("mediaSession" in navigator) {
    const handlers = { play: start, pause: pause, nexttrack: nextStep, previoustrack: previousStep };
    for (const [action, handler] of Object.entries(handlers)) {
      try { navigator.mediaSession.setActionHandler(action, () => handler()); } catch (e) { /* unsupported */ }
    }
  }

  // -- options that render afresh on the server ----------------------------------------

  function setupOptions() {
    const form = $("options");
    if (!config.live) return;
    form.hidden = false;
    const o = config.options || {};
    const paces = [0.5, 0.75, 1, 1.25, 1.5, 2];
    const pace = Number(o.pace || 1);
    if (!paces.includes(pace)) paces.push(pace), paces.sort((a, b) => a - b);
    $("pace").innerHTML = paces.map((p) => `<option value="${p}">${p}×</option>`).join("");
    $("pace").value = String(pace);
    const reps = ["", "min", "max", "1", "2", "3", "5", "8", "10", "15", "20"];
    if (o.reps && !reps.includes(String(o.reps))) reps.push(String(o.reps));
    $("reps").innerHTML = reps.map((r) => `<option value="${r}">${r ? r : "as written"}</option>`).join("");
    $("reps").value = o.reps ? String(o.reps) : "";
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const options = { ...o, pace: $("pace").value, reps: $("reps").value };
      if (Number(options.pace) !== 1 || options.reps) delete options.fit; // fit chooses the pace itself
      const query = new URLSearchParams();
      for (const [k, v] of Object.entries(options)) if (v !== "" && v != null && !(k === "pace" && Number(v) === 1)) query.set(k, v);
      const q = query.toString();
      $("options-status").textContent = "Rendering…";
      const t = audio.currentTime;
      const here = state(t);
      const resume = !audio.paused || !!waiting;
      let fresh;
      try {
        const response = await fetch(config.plan + (q ? "?" + q : ""));
        if (!response.ok) { $("options-status").textContent = (await response.text()).trim(); return; }
        fresh = await response.json();
      } catch (e) {
        $("options-status").textContent = "The server did not answer: " + e.message;
        return;
      }
      audio.pause();
      waiting = null;
      Object.assign(o, options);
      for (const k of Object.keys(o)) if (!query.has(k)) delete o[k];
      setPlan(fresh);
      audio.src = config.audio + (q ? "?" + q : "");
      const match = events.find((e) => here.section.step != null && e.step === here.section.step && e.side === here.side);
      const target = match ? match.start : (sections[Math.min(here.index, sections.length - 1)] || sections[0]).start;
      audio.addEventListener("loadedmetadata", () => {
        seek(target);
        if (resume) start();
      }, { once: true });
      audio.load();
      history.replaceState(null, "", location.pathname + (q ? "?" + q : ""));
      $("options-status").textContent = "";
    });
  }

  function audioSource() {
    const data = $("audio-data").textContent.trim();
    if (!data) return config.audio + (config.query ? "?" + config.query : "");
    // The self-contained file: the track as a Blob (seeks reliably everywhere, unlike a
    // multi-megabyte data: URL in some browsers).
    try {
      const comma = data.indexOf(",");
      const binary = atob(data.slice(comma + 1));
      const bytes = new Uint8Array(binary.length);
      for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
      return URL.createObjectURL(new Blob([bytes], { type: "audio/mpeg" }));
    } catch (e) {
      return data;
    }
  }

  setPlan(JSON.parse($("plan").textContent));
  setupOptions();
  audio.src = audioSource();
  render();
  position();
  // For tests and for the curious: the state the page shows, from the plan.
  window.voiceguide = {
    get plan() { return plan; },
    get sections() { return sections.map((s) => ({ name: s.name, step: s.step, start: s.start })); },
    state: () => { const s = state(audio.currentTime); return { ...s, section: s.section.name, label: label(s) }; },
    awake: () => awakeMode,
  };
})();
