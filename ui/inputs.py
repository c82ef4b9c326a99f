"""Input and kernel editors shared by the pages: preset, seeded random, typed, or uploaded image."""
import streamlit as st
import torch

from explorer import ExplorerError
from explorer.examples.csv_upload import MAX_ROWS, csv_columns
from explorer.examples.images import load_image
from explorer.examples.parse import format_grid, parse_channels, parse_grid

from .state import BIND, keep_option, key

SOURCES = ("preset", "random", "typed", "image")


def grid_input(page, *, dims, channels, presets, preset_fn, random_fn, seed, allow_image=True,
               max_size=32, default_size=8, max_image_size=512, label="Input"):
    """Widgets that produce an input of shape (channels, H, W) (2D) or (channels, L) (1D).

    `preset_fn(name, channels)` and `random_fn(shape, seed)` come from the page's explorer.examples
    module. Raises ExplorerError (shown by the page) for unusable typed values or uploads.
    """
    sources = SOURCES if (allow_image and dims == 2) else SOURCES[:3]
    c1, c2 = st.columns([1, 2])
    source = c1.radio(label, sources, key=key(page, "src"), bind=BIND, horizontal=False,
                      help="Where the input numbers come from. Every choice is a real tensor fed to the layer.")
    with c2:
        if source == "preset":
            name = st.selectbox("Preset", presets, key=key(page, "preset"), bind=BIND)
            x = preset_fn(name, channels)
        elif source == "random":
            size = st.slider("Size" if dims == 2 else "Length", 2, max_size, default_size,
                             key=key(page, "size"), bind=BIND,
                             help="Height and width of the random input" if dims == 2 else "Sequence length")
            shape = (channels, size, size) if dims == 2 else (channels, size)
            x = random_fn(shape, seed)
            st.caption(f"Standard normal values, seed {seed} (change it in the sidebar).")
        elif source == "typed":
            example = preset_fn(presets[0], channels)
            default = "\n\n".join(format_grid(example[c]) for c in range(channels))
            text = st.text_area("Values: one row per line, numbers split by commas; a blank line starts the "
                                "next channel", value=default, key=key(page, "typed"), height=160)
            x = parse_channels(text) if dims == 2 else _typed_1d(text, channels)
        else:
            size = st.slider("Resize the longer side to", 4, max_image_size, min(16, max_image_size),
                             key=key(page, "imgsize"), bind=BIND,
                             help="Small images show every number; large ones are stepped one block at a time.")
            up = st.file_uploader("PNG or JPEG image", type=["png", "jpg", "jpeg"], key=key(page, "upload"))
            if up is None:
                st.info("Upload an image to use it as the input; until then the first preset is used.")
                x = preset_fn(presets[0], channels)
            else:
                x = load_image(up.getvalue(), size, channels)
    return x


def _typed_1d(text, channels):
    grid = parse_grid(text.replace("\n\n", "\n"), name="input values")
    if grid.shape[0] != channels:
        raise ExplorerError(f"You typed {grid.shape[0]} row(s) but the layer expects {channels} input "
                            "channel(s): type one row per channel.")
    return grid


def kernel_input(page, *, dims, k, presets, preset_fn, default):
    """Widgets for the kernel: a preset copied into every slice, seeded random init, or typed values.

    Returns a tensor of kernel shape, or None for the layer's seeded random initialisation.
    """
    c1, c2 = st.columns([1, 2])
    source = c1.radio("Kernel", ("preset", "random", "typed"), key=key(page, "ksrc"), bind=BIND,
                      help="A preset or typed kernel is copied into every (output, input) channel pair.")
    with c2:
        if source == "preset":
            name = st.selectbox("Kernel preset", presets, index=presets.index(default), key=key(page, "kpreset"),
                                bind=BIND)
            return preset_fn(name, k, dims)
        if source == "random":
            st.caption("PyTorch's default initialisation U(−1/√fan_in, 1/√fan_in), drawn from the sidebar seed.")
            return None
        example = preset_fn(default, k, dims)
        text = st.text_area(f"Kernel values ({k}×{k})" if dims == 2 else f"Kernel values ({k})",
                            value=format_grid(example), key=key(page, "ktyped"), height=110)
        grid = parse_grid(text, name="kernel values")
        return grid if dims == 2 else grid.reshape(-1)


def as_batch(x, dtype=torch.float32):
    """(C, ...) -> (1, C, ...) in the page's dtype."""
    return x.to(dtype).unsqueeze(0)


def csv_column_input(page, label="CSV file with a header row"):
    """An uploader and a column picker: returns the chosen numeric column as a float64 tensor (T,),
    or None until a file is uploaded. Raises ExplorerError (shown by the page) for unusable files."""
    up = st.file_uploader(label, type=["csv", "txt"], key=key(page, "csv"),
                          help=f"At most {MAX_ROWS} rows; every cell of the chosen column must be a number.")
    if up is None:
        return None
    columns = csv_columns(up.getvalue())
    names = list(columns)
    keep_option(key(page, "csvcol"), names)
    name = st.selectbox("Column", names, key=key(page, "csvcol"), bind=BIND,
                        help="Only columns of numbers are offered.")
    return columns[name]
