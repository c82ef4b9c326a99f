"""What a teacher needs in front of a class: presentation mode, predict-then-reveal, guided tours."""
import math

import streamlit as st

from .state import BIND

PRESENT_CSS = """
<style>
  html { font-size: 20px; }
  [data-testid="stMainBlockContainer"] { max-width: 100%; padding-left: 2rem; padding-right: 2rem; }
  h1 { font-size: 2.6rem !important; }
  [data-testid="stMarkdownContainer"] p { font-size: 1.15rem; }
  .js-plotly-plot text { font-size: 15px !important; }
  [data-testid="stMetricValue"] { font-size: 2.4rem !important; }
</style>
"""

# Arrow keys (or a presenter clicker's PageUp/PageDown) step the first animated chart of the page.
# The listener lives in the page's own document; the flag keeps reruns from adding it twice.
STEP_KEYS_JS = """
<script>
const doc = window.parent.document;
const win = window.parent;
if (!win.__layerLabStepKeys) {
  win.__layerLabStepKeys = true;
  doc.addEventListener("keydown", (e) => {
    const forward = ["ArrowRight", "PageDown"].includes(e.key);
    const back = ["ArrowLeft", "PageUp"].includes(e.key);
    if (!(forward || back) || !win.__layerLabPresenting) return;
    const t = e.target;
    if (t && (["INPUT", "TEXTAREA", "SELECT"].includes(t.tagName) || t.getAttribute("role") === "slider")) return;
    const gd = Array.from(doc.querySelectorAll(".js-plotly-plot"))
      .find((g) => g._transitionData && g._transitionData._frames && g._transitionData._frames.length);
    if (!gd) return;
    const frames = gd._transitionData._frames;
    const slider = (gd.layout.sliders || [])[0];
    const now = slider ? (slider.active || 0) : 0;
    const next = Math.max(0, Math.min(frames.length - 1, now + (forward ? 1 : -1)));
    win.Plotly.animate(gd, [frames[next].name], {mode: "immediate", frame: {duration: 0, redraw: true},
                                                 transition: {duration: 0}});
    e.preventDefault();
  });
}
win.__layerLabPresenting = PRESENTING;
</script>
"""


def presentation_toggle():
    """Sidebar switch; when on, larger type, controls folded away, arrow keys step the animation."""
    on = st.sidebar.toggle("Presentation mode", key="present", bind=BIND,
                           help="Large type for a projector, controls folded, ← → (or a clicker) step "
                                "through the animation.")
    if on:
        st.markdown(PRESENT_CSS, unsafe_allow_html=True)  # our own constant CSS, no user text
    with st.sidebar:  # our own constant script: it needs the page's document, hence an iframe
        st.iframe(STEP_KEYS_JS.replace("PRESENTING", "true" if on else "false"), height=1)
    return on


def presenting():
    return bool(st.session_state.get("present", False))


def predict(key, question, truth, digits=4):
    """Ask for a prediction before the answer is shown. Returns True when the answer may be shown.

    Args:
        key: widget key prefix, unique on the page.
        question: what to predict, e.g. "the output at (2, 3)".
        truth: the module's value.
        worked: the worked computation; the caller shows it once this returns True.
        digits: how many significant digits count as right.
    """
    if not st.toggle("Predict before you look", key=f"{key}.on", bind=BIND,
                     help="Hide the answer, type your prediction, then check it."):
        return True
    done_key = f"{key}.checked.{question}"  # a new question starts unanswered
    with st.form(f"{key}.form", border=True):
        guess = st.number_input(f"Your prediction for {question}", value=None, format="%.6g",
                                key=f"{key}.guess", placeholder="type a number")
        checked = st.form_submit_button("Check")
    if checked:
        st.session_state[done_key] = guess
    if done_key not in st.session_state or st.session_state[done_key] is None:
        if checked:
            st.warning("Type a number first.")
        return False
    guess = st.session_state[done_key]
    if close_enough(guess, truth, digits):
        st.success(f"Right: the module gives {truth:.6g}.")
    else:
        st.error(f"Not quite: you said {guess:.6g}, the module gives {truth:.6g}.")
    return True


def close_enough(guess, truth, digits=4):
    """Whether a typed guess matches the truth to `digits` significant digits (or 1e-6 absolute)."""
    if guess is None or not math.isfinite(guess):
        return False
    return abs(guess - truth) <= max(1e-6, abs(truth) * 10 ** (1 - digits))


def tour(page, steps):
    """A short guided tour, off by default: one step at a time, with Back and Next."""
    if not st.toggle("Guided tour", key=f"{page}.tour", bind=BIND, help="Short steps: what to change, what to notice."):
        return
    idx_key = f"{page}.tour_step"
    i = min(st.session_state.get(idx_key, 0), len(steps) - 1)
    st.info(f"**Step {i + 1} of {len(steps)}.** {steps[i]}", icon=":material/explore:")
    c1, c2, _ = st.columns([1, 1, 6])
    if c1.button("← Back", key=f"{page}.tour_back", disabled=i == 0):
        st.session_state[idx_key] = i - 1
        st.rerun()
    if c2.button("Next →", key=f"{page}.tour_next", disabled=i == len(steps) - 1):
        st.session_state[idx_key] = i + 1
        st.rerun()
