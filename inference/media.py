"""Reading images and videos as RGB frames, probing media, writing browser-playable MP4.

* Images: JPEG/PNG (RGBA and grayscale converted to RGB), EXIF orientation honoured.
* Videos: anything FFmpeg (via PyAV) decodes: MP4/H.264, WebM VP8/VP9, MOV, MKV, AVI.

Every failure to read is raised as :class:`inference.errors.MediaError` with a one-line message.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from inference.errors import MediaError

# FFmpeg "decodes" any bytes as text-mode art; such files are not media.
_PSEUDO_FORMATS = {"bin", "tty", "xbin", "idf", "ansi", "adf"}
_PSEUDO_CODECS = {"bintext", "xbin", "idf", "ansi", "tty", "text"}
IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".gif", ".tif", ".tiff"}
# Largest frame accepted (pixels), checked from the header before anything is decoded: a file that
# claims 100000x100000 would otherwise ask for tens of gigabytes. 100 MP covers 8K video and big photos.
MAX_PIXELS = 100_000_000


def _check_size(p: Path, width: int, height: int) -> None:
    if width * height > MAX_PIXELS:
        raise MediaError(f"{p.name}: the picture is too large ({width}x{height}); the limit is 100 megapixels", str(p))


@dataclass
class Frame:
    """One decoded frame: ``image`` is an HxWx3 uint8 RGB array."""

    index: int  # index of the frame in the source (0 for an image)
    time: float  # seconds from the start of the media
    image: np.ndarray


@dataclass
class MediaInfo:
    kind: str  # "image" or "video"
    width: int
    height: int
    duration: float  # seconds (0 for an image)
    fps: float  # average frame rate (0 for an image)
    frame_count: int  # exact for images, from the container (or estimated) for videos
    codec: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


def _check_file(path: str | os.PathLike) -> Path:
    p = Path(path)
    if not p.exists():
        raise MediaError(f"{p.name}: file not found", str(p))
    if not p.is_file():
        raise MediaError(f"{p.name}: not a regular file", str(p))
    if p.stat().st_size == 0:
        raise MediaError(f"{p.name}: the file is empty", str(p))
    return p


def _looks_like_image(p: Path) -> bool:
    return p.suffix.lower() in IMAGE_EXTENSIONS or _has_image_signature(p)


def _has_image_signature(p: Path) -> bool:
    with open(p, "rb") as fh:
        head = fh.read(16)
    return head.startswith((b"\xff\xd8\xff", b"\x89PNG", b"GIF8", b"BM")) or (
        head[:4] == b"RIFF" and head[8:12] == b"WEBP"
    )


def to_rgb(image) -> np.ndarray:
    """Any PIL image or numpy array (gray, RGB, RGBA) -> contiguous HxWx3 uint8 RGB."""
    from PIL import Image

    if isinstance(image, Image.Image):
        if image.mode in ("RGBA", "LA", "P", "PA"):
            image = image.convert("RGBA")
            background = Image.new("RGBA", image.size, (255, 255, 255, 255))
            image = Image.alpha_composite(background, image)
        image = np.asarray(image.convert("RGB"))
    arr = np.asarray(image)
    if arr.dtype != np.uint8:
        arr = np.clip(arr, 0, 255).astype(np.uint8)
    if arr.ndim == 2:
        arr = np.repeat(arr[:, :, None], 3, axis=2)
    elif arr.ndim == 3 and arr.shape[2] == 4:
        alpha = arr[:, :, 3:4].astype(np.float32) / 255.0
        arr = (arr[:, :, :3].astype(np.float32) * alpha + 255.0 * (1 - alpha)).astype(np.uint8)
    elif arr.ndim == 3 and arr.shape[2] == 1:
        arr = np.repeat(arr, 3, axis=2)
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise ValueError(f"expected an HxW, HxWx3 or HxWx4 image, got shape {arr.shape}")
    return np.ascontiguousarray(arr)


def load_image(path: str | os.PathLike) -> np.ndarray:
    """Read an image file as RGB, honouring EXIF orientation and flattening alpha on white."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    p = _check_file(path)
    try:
        with Image.open(p) as im:
            _check_size(p, *im.size)
            im.load()
            im = ImageOps.exif_transpose(im)
            return to_rgb(im)
    except UnidentifiedImageError:
        raise MediaError(f"{p.name}: not a readable image", str(p)) from None
    except Image.DecompressionBombError:
        raise MediaError(f"{p.name}: the picture is too large; the limit is 100 megapixels", str(p)) from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise MediaError(f"{p.name}: the image is damaged or truncated ({exc})", str(p)) from None


def _open_container(p: Path):
    import av

    try:
        container = av.open(str(p))
    except av.FFmpegError as exc:
        raise MediaError(f"{p.name}: not a readable video or image ({exc.__class__.__name__})", str(p)) from None
    except (OSError, ValueError) as exc:
        raise MediaError(f"{p.name}: cannot be opened ({exc})", str(p)) from None
    if not container.streams.video:
        container.close()
        raise MediaError(f"{p.name}: contains no video stream", str(p))
    fmt = (container.format.name or "").split(",")
    codec = container.streams.video[0].codec_context.name
    if set(fmt) & _PSEUDO_FORMATS or codec in _PSEUDO_CODECS:
        container.close()
        raise MediaError(f"{p.name}: not a readable video or image (looks like {codec or fmt[0]} data)", str(p))
    return container


def probe(path: str | os.PathLike) -> MediaInfo:
    """Describe an image or video, or raise :class:`MediaError`.

    For videos the first frame is decoded, so a file whose header parses but whose
    data does not decode is refused here rather than half-way through an analysis.
    """
    p = _check_file(path)
    if _looks_like_image(p):
        try:
            img = load_image(p)
        except MediaError:
            # an image by name or by signature that PIL cannot read is a damaged image, whatever FFmpeg
            # might salvage from it (a staged upload is named .part, so the signature decides there)
            if p.suffix.lower() in IMAGE_EXTENSIONS or _has_image_signature(p):
                raise
        else:
            return MediaInfo("image", img.shape[1], img.shape[0], 0.0, 0.0, 1, "image")
    container = _open_container(p)
    try:
        stream = container.streams.video[0]
        _check_size(p, stream.codec_context.width or 0, stream.codec_context.height or 0)
        fps = float(stream.average_rate or stream.guessed_rate or 0) or 0.0
        duration = 0.0
        if stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            duration = container.duration / 1_000_000
        frames = int(stream.frames or 0)
        if not frames and duration and fps:
            frames = int(round(duration * fps))
        first = None
        try:
            for frame in container.decode(stream):
                first = frame
                break
        except Exception as exc:  # noqa: BLE001 - any decoder failure is bad media
            raise MediaError(f"{p.name}: the video data cannot be decoded ({exc.__class__.__name__})", str(p)) from None
        if first is None:
            raise MediaError(f"{p.name}: the video has no decodable frames", str(p))
        width, height = first.width, first.height
        _check_size(p, width, height)
        if not duration and frames and fps:
            duration = frames / fps
        return MediaInfo("video", width, height, duration, fps, frames, stream.codec_context.name)
    finally:
        container.close()


def iter_video(
    path: str | os.PathLike,
    fps: float | None = None,
    start: float = 0.0,
    end: float | None = None,
) -> Iterator[Frame]:
    """Yield RGB frames of a video between ``start`` and ``end`` seconds.

    ``fps=None`` yields every frame; otherwise frames are sampled so that at most
    ``fps`` frames per second come out (the first frame at or after each sampling
    instant). ``index`` is the frame's position in the source stream, ``time`` its
    presentation time in seconds. A file that stops decoding part-way raises
    :class:`MediaError` unless at least one frame came out, in which case the
    frames read so far are kept (a truncated recording still yields what it has).
    """
    import av

    p = _check_file(path)
    container = _open_container(p)
    try:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        rate = float(stream.average_rate or stream.guessed_rate or 25)
        tb = stream.time_base or Fraction(1, 1000)
        if start > 0:
            try:
                container.seek(int(start / tb), stream=stream, backward=True, any_frame=False)
            except av.FFmpegError:
                container.seek(0, stream=stream)
        step = 1.0 / fps if fps else 0.0
        next_t = start
        produced = 0
        first_pts = stream.start_time if stream.start_time is not None else 0
        try:
            for frame in container.decode(stream):
                t = float((frame.pts - first_pts) * tb) if frame.pts is not None else produced / rate
                index = int(round(t * rate))
                if t < start - 1e-6:
                    continue
                if end is not None and t >= end - 1e-6:
                    break
                if step and t + 1e-6 < next_t:
                    continue
                if step:
                    while next_t <= t + 1e-6:
                        next_t += step
                produced += 1
                yield Frame(index=index, time=round(t, 6), image=frame.to_ndarray(format="rgb24"))
        except av.FFmpegError as exc:
            if produced == 0:
                raise MediaError(
                    f"{p.name}: the video data cannot be decoded ({exc.__class__.__name__})", str(p)
                ) from None
        if produced == 0 and start == 0:
            raise MediaError(f"{p.name}: the video has no decodable frames", str(p))
    finally:
        container.close()


def iter_frames(
    path: str | os.PathLike, fps: float | None = None, start: float = 0.0, end: float | None = None
) -> Iterator[Frame]:
    """Frames of an image (one frame) or a video, as :class:`Frame` objects."""
    info = probe(path)
    if info.kind == "image":
        yield Frame(index=0, time=0.0, image=load_image(path))
        return
    yield from iter_video(path, fps=fps, start=start, end=end)


class VideoWriter:
    """Write RGB frames to a browser-playable H.264 MP4 (yuv420p, even size, faststart).

    Use as a context manager; frames are cropped to even dimensions if needed.
    """

    def __init__(self, path: str | os.PathLike, fps: float = 25.0, crf: int = 23, preset: str = "veryfast"):
        import av

        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fps = Fraction(fps).limit_denominator(1001) if fps and fps > 0 else Fraction(25)
        self._container = av.open(str(self.path), mode="w", options={"movflags": "+faststart"})
        self._stream = None
        self._crf = crf
        self._preset = preset
        self._size: tuple[int, int] | None = None

    def write(self, image: np.ndarray) -> None:
        import av

        if self._stream is None:
            h, w = image.shape[:2]
            w, h = max(2, w - w % 2), max(2, h - h % 2)
            self._size = (w, h)
            self._stream = self._container.add_stream("libx264", rate=self.fps)
            self._stream.width, self._stream.height = w, h
            self._stream.pix_fmt = "yuv420p"
            self._stream.options = {"crf": str(self._crf), "preset": self._preset}
        w, h = self._size
        img = np.ascontiguousarray(image[:h, :w, :3])
        if img.shape[0] != h or img.shape[1] != w:
            import cv2

            img = cv2.resize(img, (w, h))
        frame = av.VideoFrame.from_ndarray(img, format="rgb24")
        for packet in self._stream.encode(frame):
            self._container.mux(packet)

    def close(self) -> None:
        if self._container is None:
            return
        if self._stream is not None:
            for packet in self._stream.encode():
                self._container.mux(packet)
        self._container.close()
        self._container = None

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def write_video(path: str | os.PathLike, frames, fps: float = 25.0) -> Path:
    """Write an iterable of RGB arrays to an H.264 MP4 and return its path."""
    with VideoWriter(path, fps=fps) as writer:
        for image in frames:
            writer.write(image)
    return Path(path)


def even(n: int) -> int:
    return max(2, int(math.floor(n / 2) * 2))


def transcode_to_mp4(src: str | os.PathLike, dst: str | os.PathLike, fps: float = 25.0) -> Path:
    """Re-encode any video PyAV reads (a MediaRecorder WebM included) as a seekable H.264 MP4.

    The output has a constant ``fps``: each output frame shows the latest source frame at its time,
    so variable-rate recordings keep their timing. Audio is not kept.
    """
    produced = 0
    with VideoWriter(dst, fps=fps) as writer:
        last = None
        for frame in iter_video(src):
            while last is not None and produced < int(round(frame.time * fps)):
                writer.write(last)
                produced += 1
            last = frame.image
        if last is not None:
            writer.write(last)
            produced += 1
    if produced == 0:
        raise MediaError(f"{Path(src).name}: the video has no decodable frames", str(src))
    return Path(dst)
