"""The streaming player: hls.js (npm `hls.js@1.7.4`, bundled by Reflex — no CDN) wrapped as a React
component that plays a job's `playbackUrl` (the master playlist under a signed package link).

Below the video: a rendition menu (`#rendition-menu`: Auto, then each height; choosing one pins
hls.js to it at once), the rendition playing now (`#rendition-current`) and the measured bandwidth
(`#rendition-bandwidth`); a scrub bar (`#stream-scrub`) that shows the storyboard thumbnail
(`#storyboard-thumb`, a sprite cell from the job's WebVTT storyboard) while hovered and seeks on click.
A fatal hls.js error is written to the video's `data-hls-error` (tests read it).
"""
from __future__ import annotations

import reflex as rx
from reflex.vars.base import Var

HLS_LIBRARY = "hls.js@1.7.4"

_CODE = r"""
function mprParseStoryboard(text, base) {
  const cues = [];
  const blocks = text.split(/\r?\n\r?\n/);
  const secs = (t) => { const p = t.trim().split(":").map(Number); return p.reduce((a, v) => a * 60 + v, 0); };
  for (const block of blocks) {
    const lines = block.split(/\r?\n/).filter((l) => l.trim() !== "");
    const timing = lines.findIndex((l) => l.includes("-->"));
    if (timing < 0 || !lines[timing + 1]) continue;
    const [a, b] = lines[timing].split("-->");
    const [file, frag] = lines[timing + 1].trim().split("#xywh=");
    const [x, y, w, h] = (frag || "0,0,0,0").split(",").map(Number);
    cues.push({ start: secs(a), end: secs(b), url: new URL(file, base).toString(), x, y, w, h });
  }
  return cues;
}

function MprHlsPlayer(props) {
  const h = createElement;
  const videoRef = useRef(null);
  const hlsRef = useRef(null);
  const [levels, setLevels] = useState([]);
  const [choice, setChoice] = useState(-1);
  const [current, setCurrent] = useState(-1);
  const [bandwidth, setBandwidth] = useState(0);
  const [cues, setCues] = useState([]);
  const [hover, setHover] = useState(null);

  useEffect(() => {
    const video = videoRef.current;
    if (!video || !props.src) return undefined;
    setLevels([]); setChoice(-1); setCurrent(-1); setBandwidth(0);
    delete video.dataset.hlsError;
    let hls = null;
    if (Hls.isSupported()) {
      hls = new Hls({ capLevelToPlayerSize: false });
      hlsRef.current = hls;
      hls.on(Hls.Events.MANIFEST_PARSED, (_e, data) => {
        setLevels(data.levels.map((l, i) => ({ index: i, height: l.height, bitrate: l.bitrate })));
      });
      hls.on(Hls.Events.LEVEL_SWITCHED, (_e, data) => { setCurrent(data.level); video.dataset.level = String(data.level); });
      hls.on(Hls.Events.FRAG_LOADED, () => { setBandwidth(Math.round(hls.bandwidthEstimate || 0)); });
      hls.on(Hls.Events.ERROR, (_e, data) => { if (data.fatal) { video.dataset.hlsError = data.details || "error"; } });
      hls.loadSource(new URL(props.src, window.location.href).toString());
      hls.attachMedia(video);
    } else if (video.canPlayType("application/vnd.apple.mpegurl")) {
      video.src = props.src;
    }
    return () => { if (hls) { hls.destroy(); } hlsRef.current = null; };
  }, [props.src]);

  useEffect(() => {
    setCues([]);
    if (!props.storyboard) return undefined;
    const url = new URL(props.storyboard, window.location.href).toString();
    let live = true;
    fetch(url, { credentials: "same-origin" }).then((r) => (r.ok ? r.text() : "")).then((text) => {
      if (live && text) setCues(mprParseStoryboard(text, url));
    }).catch(() => {});
    return () => { live = false; };
  }, [props.storyboard]);

  const pick = (event) => {
    const level = parseInt(event.target.value, 10);
    setChoice(level);
    if (hlsRef.current) hlsRef.current.currentLevel = level;  // -1: automatic switching again
  };
  const timeAt = (event) => {
    const box = event.currentTarget.getBoundingClientRect();
    const video = videoRef.current;
    const fraction = Math.min(Math.max((event.clientX - box.left) / box.width, 0), 1);
    return { t: fraction * ((video && video.duration) || 0), left: event.clientX - box.left };
  };
  const onMove = (event) => {
    const { t, left } = timeAt(event);
    const cue = cues.find((c) => t >= c.start && t < c.end) || null;
    setHover(cue ? { cue, left } : null);
  };
  const onClick = (event) => { const video = videoRef.current; if (video) video.currentTime = timeAt(event).t; };
  const level = current >= 0 && levels[current] ? levels[current] : null;
  const small = { fontSize: "12px", color: "#aab", fontFamily: "monospace" };

  return h("div", { id: props.id, style: { display: "flex", flexDirection: "column", width: "100%", height: "100%" } },
    h("video", { ref: videoRef, id: "stream-video", controls: true, playsInline: true, muted: true,
                 style: { width: "100%", flex: "1", minHeight: 0, background: "#000", objectFit: "contain" } }),
    h("div", { id: "stream-scrub", onMouseMove: onMove, onMouseLeave: () => setHover(null), onClick: onClick,
               style: { position: "relative", height: "10px", background: "#2a2f3a", cursor: "pointer" } },
      hover ? h("div", { id: "storyboard-thumb", style: {
        position: "absolute", bottom: "14px", left: Math.max(hover.left - hover.cue.w / 2, 0) + "px",
        width: hover.cue.w + "px", height: hover.cue.h + "px", border: "1px solid #fff",
        backgroundImage: "url(" + hover.cue.url + ")", backgroundPosition: (-hover.cue.x) + "px " + (-hover.cue.y) + "px",
        pointerEvents: "none" } }) : null),
    h("div", { style: { display: "flex", gap: "10px", alignItems: "center", padding: "6px 4px" } },
      h("select", { id: "rendition-menu", value: String(choice), onChange: pick,
                    style: { background: "#161a22", color: "#dde", border: "1px solid #333", borderRadius: "4px" } },
        h("option", { value: "-1" }, "Auto"),
        ...levels.map((l) => h("option", { key: l.index, value: String(l.index) }, l.height + "p"))),
      h("span", { id: "rendition-current", style: small }, level ? level.height + "p" : "—"),
      h("span", { id: "rendition-bandwidth", style: small },
        bandwidth ? (bandwidth / 1e6).toFixed(2) + " Mbit/s" : "")));
}
"""


class StreamPlayer(rx.Component):
    """`<MprHlsPlayer src=… storyboard=…>`: defined by the custom code above, hls.js imported from npm."""

    tag = "MprHlsPlayer"
    src: Var[str]
    storyboard: Var[str]

    def add_imports(self):
        return {
            "react": ["useEffect", "useRef", "useState", "createElement"],
            HLS_LIBRARY: rx.ImportVar(tag="Hls", is_default=True),
        }

    def add_custom_code(self) -> list[str]:
        return [_CODE]


def stream_player(src, storyboard, **props) -> rx.Component:
    return StreamPlayer.create(src=src, storyboard=storyboard, id="stream-player", **props)
