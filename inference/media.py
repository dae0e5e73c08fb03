"""Reading images and videos as RGB frames, probing media, writing browser-playable MP4.

* Images: JPEG/PNG (RGBA and grayscale converted to RGB), EXIF orientation honoured.
* Videos: anything FFmpeg (via PyAV) decodes: MP4/H.264, WebM VP8/VP9, MOV, MKV, AVI.

Every failure to read is raised as :class:`inference.errors.MediaError` with a one-line message.
"""

from __future__ import annotations

import heapq
import logging
import math
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np

from inference.errors import MediaError, TooLongError

logger = logging.getLogger(__name__)

# FFmpeg "decodes" any bytes as text-mode art; such files are not media.
_PSEUDO_FORMATS = {"bin", "tty", "xbin", "idf", "ansi", "adf"}
_PSEUDO_CODECS = {"bintext", "xbin", "idf", "ansi", "tty", "text"}
IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".gif", ".tif", ".tiff"}
# Largest frame accepted (pixels), checked from the header before anything is decoded: a file that
# claims 100000x100000 would otherwise ask for tens of gigabytes. 100 MP covers 8K video and big photos.
MAX_PIXELS = 100_000_000
# A pause between two frames' timestamps longer than this is a gap: nothing is analysed in it and playable
# copies hold the last frame across it instead of repeating it (a file may stamp its frames days apart).
MAX_GAP_SECONDS = 10.0
# With a duration limit, a probe reads at most limit x this many packets (a bound on its work and time).
MAX_FRAME_RATE = 240
# Timestamps are sorted through a window this deep: enough for the reordering of B-frames.
_REORDER_DEPTH = 32


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
    frame_count: int  # exact for images, the video packets counted for videos
    codec: str = ""
    # videos: the stretches [start, end) of the timeline that hold frames, split at gaps over MAX_GAP_SECONDS,
    # in seconds from the stream's start; ``duration`` is the end of the last one. Empty for images.
    spans: list[tuple[float, float]] = field(default_factory=list)

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
        # the library's text (paths, internals) is not for users
        raise MediaError(f"{p.name}: the image is damaged or truncated", str(p), cause=exc.__class__.__name__) from None


def _open_container(p: Path):
    import av

    try:
        container = av.open(str(p))
    except av.FFmpegError as exc:
        raise MediaError(f"{p.name}: not a readable video or image", str(p), cause=exc.__class__.__name__) from None
    except (OSError, ValueError) as exc:
        raise MediaError(f"{p.name}: cannot be opened", str(p), cause=exc.__class__.__name__) from None
    if not container.streams.video:
        container.close()
        raise MediaError(f"{p.name}: contains no video stream", str(p))
    fmt = (container.format.name or "").split(",")
    codec = container.streams.video[0].codec_context.name
    if set(fmt) & _PSEUDO_FORMATS or codec in _PSEUDO_CODECS:
        container.close()
        raise MediaError(f"{p.name}: not a readable video or image (looks like {codec or fmt[0]} data)", str(p))
    return container


def probe(path: str | os.PathLike, max_duration: float | None = None) -> MediaInfo:
    """Describe an image or video, or raise :class:`MediaError`.

    For videos the first frame is decoded, so a file whose header parses but whose
    data does not decode is refused here rather than half-way through an analysis.
    The duration is where the frames' own timestamps end (read from every packet, nothing
    decoded), never what the container claims: containers lie both ways. With ``max_duration``
    (seconds), a longer video raises :class:`TooLongError` as soon as a timestamp passes it.
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
        codec = stream.codec_context.name
        first = None
        try:
            for frame in container.decode(stream):
                first = frame
                break
        except Exception as exc:  # noqa: BLE001 - any decoder failure is bad media
            raise MediaError(
                f"{p.name}: the video data cannot be decoded", str(p), cause=exc.__class__.__name__
            ) from None
        if first is None:
            raise MediaError(f"{p.name}: the video has no decodable frames", str(p))
        width, height = first.width, first.height
        _check_size(p, width, height)
    finally:
        container.close()
    spans, frames = frame_spans(p, fps or 25.0, max_duration)
    duration = spans[-1][1] if spans else 0.0
    return MediaInfo("video", width, height, duration, fps, frames, codec, spans)


def _clock(seconds: float) -> str:
    total = int(seconds)
    return f"{total // 3600}:{total % 3600 // 60:02d}:{total % 60:02d}"


def frame_spans(
    path: str | os.PathLike, fps: float = 25.0, max_duration: float | None = None
) -> tuple[list[tuple[float, float]], int]:
    """The stretches of a video's timeline that hold frames, and the number of frames (packets).

    Reads the video stream's packet timestamps without decoding them. Times are seconds from the
    stream's start time (as in :func:`iter_video`); a stretch ends at its latest frame's time plus that
    frame's duration (``1/fps`` when the container gives none; at most ``MAX_GAP_SECONDS``); a pause
    over ``MAX_GAP_SECONDS`` between two frames starts a new stretch. With ``max_duration``, a timestamp past it raises
    :class:`TooLongError`, and more than ``max_duration * MAX_FRAME_RATE`` packets a :class:`MediaError`.
    """
    import av

    p = Path(path)
    limit = max_duration if max_duration and max_duration > 0 else None
    max_packets = int(limit * MAX_FRAME_RATE) + 1 if limit else None
    spans: list[tuple[float, float]] = []
    current: list[float] | None = None  # [start, last frame's time, end]
    count = 0

    def add(t: float, length: float) -> None:
        nonlocal current
        if limit is not None and t + length > limit + 1e-6:
            raise TooLongError(
                f"{p.name}: the video is too long (at least {_clock(t + length)}); the limit is {limit / 60:g} minutes",
                str(p),
                seconds=t + length,
                limit=limit,
            )
        if current is not None and t - current[1] > MAX_GAP_SECONDS:
            spans.append((current[0], current[2]))
            current = None
        if current is None or t >= current[1]:
            # the stretch ends with its latest frame's own length (a muxer may give a frame after a gap
            # the gap's length: only the last frame's length counts)
            current = [t if current is None else current[0], t, t + length]

    container = _open_container(p)
    try:
        stream = container.streams.video[0]
        tb = stream.time_base or Fraction(1, 1000)
        origin = stream.start_time if stream.start_time is not None else 0
        default_length = 1.0 / fps if fps > 0 else 0.04
        window: list[tuple[float, float]] = []
        untimed = 0
        try:
            for packet in container.demux(stream):
                if not packet.size:
                    continue  # the demuxer's end-of-stream marker
                count += 1
                if max_packets is not None and count > max_packets:
                    raise MediaError(f"{p.name}: too many frames for a video of its length", str(p))
                stamp = packet.pts if packet.pts is not None else packet.dts
                if stamp is None:
                    untimed += 1
                    continue
                t = float((stamp - origin) * tb)
                if t < 0:
                    continue  # before the start: never shown, never analysed
                length = float(packet.duration * tb) if packet.duration else default_length
                heapq.heappush(window, (t, min(length, MAX_GAP_SECONDS)))
                if len(window) > _REORDER_DEPTH:
                    add(*heapq.heappop(window))
        except av.FFmpegError:
            pass  # a damaged tail: the frames before it count (the analysis keeps them too)
        while window:
            add(*heapq.heappop(window))
    finally:
        container.close()
    if current is None and untimed:  # no timestamps at all (a raw stream): frames at the nominal rate
        add(0.0, untimed * default_length)
    if current is not None:
        spans.append((current[0], current[2]))
    return [(round(a, 6), round(b, 6)) for a, b in spans], count


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
                    f"{p.name}: the video data cannot be decoded", str(p), cause=exc.__class__.__name__
                ) from None
        if produced == 0 and start == 0:
            raise MediaError(f"{p.name}: the video has no decodable frames", str(p))
    finally:
        container.close()


def iter_frames(
    path: str | os.PathLike, fps: float | None = None, start: float = 0.0, end: float | None = None
) -> Iterator[Frame]:
    """Frames of an image (one frame) or a video, as :class:`Frame` objects.

    Told apart as :func:`probe` does, without its scan of the whole video (thumbnails call this often).
    """
    p = _check_file(path)
    if _looks_like_image(p):
        try:
            image = load_image(p)
        except MediaError:
            if p.suffix.lower() in IMAGE_EXTENSIONS or _has_image_signature(p):
                raise
        else:
            yield Frame(index=0, time=0.0, image=image)
            return
    yield from iter_video(p, fps=fps, start=start, end=end)


class VideoWriter:
    """Write RGB frames to a browser-playable H.264 MP4 (yuv420p, even size, faststart).

    Use as a context manager; frames are cropped to even dimensions if needed.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        fps: float = 25.0,
        crf: int = 23,
        preset: str = "veryfast",
        on_open=None,
    ):
        import av

        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fps = Fraction(fps).limit_denominator(1001) if fps and fps > 0 else Fraction(25)
        self._container = av.open(str(self.path), mode="w", options={"movflags": "+faststart"})
        self._stream = None
        self._crf = crf
        self._preset = preset
        self._size: tuple[int, int] | None = None
        self._next_pts = 0
        # called with the output container once the video stream exists, before anything is muxed:
        # the only moment another stream (the audio) can still be added
        self._on_open = on_open

    @property
    def container(self):
        return self._container

    @property
    def opened(self) -> bool:
        return self._stream is not None

    def write(self, image: np.ndarray, pts: int | None = None) -> None:
        """Add a frame at output slot ``pts`` (in 1/fps units; default: the slot after the last one)."""
        import av

        if self._stream is None:
            h, w = image.shape[:2]
            w, h = max(2, w - w % 2), max(2, h - h % 2)
            self._size = (w, h)
            self._stream = self._container.add_stream("libx264", rate=self.fps)
            self._stream.width, self._stream.height = w, h
            self._stream.pix_fmt = "yuv420p"
            self._stream.options = {"crf": str(self._crf), "preset": self._preset}
            if self._on_open is not None:
                self._on_open(self._container)
        w, h = self._size
        img = np.ascontiguousarray(image[:h, :w, :3])
        if img.shape[0] != h or img.shape[1] != w:
            import cv2

            img = cv2.resize(img, (w, h))
        frame = av.VideoFrame.from_ndarray(img, format="rgb24")
        frame.pts = self._next_pts if pts is None else max(pts, self._next_pts)
        self._next_pts = frame.pts + 1
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


# Audio an MP4 copy keeps as it is: every browser plays AAC and MP3 in MP4. Opus (a MediaRecorder
# recording's audio) in MP4 plays in Chromium and Firefox but not in every Safari, so it is re-encoded to
# AAC like anything else (PCM, Vorbis, AC-3, ...); audio costs little next to the H.264 video encode.
MP4_COPY_AUDIO = {"aac", "mp3"}
_AAC_RATES = {8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000, 64000, 88200, 96000}
_AUDIO_BITRATE = 128_000


def codec_name(stream) -> str:
    """The format's name of a stream's codec ("mp3"), not its decoder's ("mp3float"); "" when unknown."""
    try:
        return stream.codec_context.codec.canonical_name
    except (AttributeError, ValueError):  # a codec FFmpeg has no decoder for
        return ""


def _audio_decodes(p: Path) -> bool:
    """True when the first audio stream yields a decoded frame from its first packets."""
    import av

    try:
        with av.open(str(p)) as container:
            stream = container.streams.audio[0]
            for n, packet in enumerate(container.demux(stream)):
                if n > 50:
                    return False
                try:
                    if packet.decode():
                        return True
                except av.FFmpegError:
                    continue
    except (av.FFmpegError, OSError, ValueError, IndexError):
        return False
    return False


class _Audio:
    """The source's first audio stream in the MP4 copy: packets copied, or decoded and encoded to AAC.

    Timestamps stay in the source's time base, shifted by the video's start (the copy's time zero),
    so audio that starts late keeps its offset; audio before the first picture is cut (the analysis
    times results from the first picture, which the replay page shows at 0).
    """

    def __init__(self, p: Path, source, origin: float):
        self.name = p.name
        self.source = source
        self.tb = source.time_base
        self.shift = int(round(origin / self.tb)) if origin else 0
        self.copy = codec_name(source) in MP4_COPY_AUDIO
        self.stream = None
        self.pending: list = []
        self.errors = 0

    def open(self, container) -> None:
        import av

        ctx = self.source.codec_context
        try:
            if self.copy:
                self.stream = container.add_stream_from_template(self.source)
            else:
                rate = ctx.sample_rate if ctx.sample_rate in _AAC_RATES else 48000
                self.stream = container.add_stream("aac", rate=rate)
                self.stream.layout = "mono" if ctx.layout.nb_channels == 1 else "stereo"
                self.stream.bit_rate = _AUDIO_BITRATE
        except (av.FFmpegError, ValueError) as exc:
            logger.warning("%s: the audio cannot be written (%s); the playable copy has no sound", self.name, exc)
            self.stream = None

    def feed(self, writer: VideoWriter, packet) -> None:
        """Mux ``packet`` (or keep it until the video stream is open, since both streams precede muxing)."""
        if not writer.opened:
            if packet.size:
                self.pending.append(packet)
            return
        for held in self.pending:
            self._mux(writer.container, held)
        self.pending = []
        self._mux(writer.container, packet)

    def _mux(self, container, packet) -> None:
        import av

        if self.stream is None:
            return
        if self.copy:
            if not packet.size or packet.pts is None or packet.pts - self.shift < 0:
                return
            packet.pts -= self.shift
            if packet.dts is not None:
                packet.dts = max(0, packet.dts - self.shift)
            packet.stream = self.stream
            try:
                container.mux(packet)
            except (av.FFmpegError, ValueError) as exc:  # a damaged packet costs its 20 ms, not the copy
                self._skip(exc)
            return
        try:
            frames = packet.decode()
        except av.FFmpegError as exc:
            self._skip(exc)
            return
        for frame in frames:
            if frame.pts is None or frame.pts - self.shift < 0:
                continue
            frame.pts -= self.shift
            try:
                for out in self.stream.encode(frame):
                    container.mux(out)
            except (av.FFmpegError, ValueError) as exc:  # e.g. timestamps going backwards
                self._skip(exc)

    def _skip(self, exc: Exception) -> None:
        self.errors += 1
        if self.errors == 1:
            logger.warning("%s: skipping audio that fails to decode or mux (%s)", self.name, exc.__class__.__name__)

    def close(self, writer: VideoWriter) -> None:
        if not writer.opened or self.stream is None:
            return
        for held in self.pending:
            self._mux(writer.container, held)
        self.pending = []
        if not self.copy:
            for out in self.stream.encode():
                writer.container.mux(out)


def transcode_to_mp4(src: str | os.PathLike, dst: str | os.PathLike, fps: float = 25.0) -> Path:
    """Re-encode any video PyAV reads (a MediaRecorder WebM included) as a seekable H.264 MP4.

    The output runs at ``fps``: each output frame shows the latest source frame at its time, so
    variable-rate recordings keep their timing. Across a gap over ``MAX_GAP_SECONDS`` between two
    frames the last frame is written once and held (one long frame), never repeated: the next frame
    keeps its own time, and a file stamping its frames days apart costs two frames. The first audio
    stream is kept (copied when MP4 browsers play it, else AAC), in sync; audio that does not decode
    leaves a video-only copy and a warning. One pass over the file: audio and video packets are muxed
    interleaved, as they come.
    """
    import av

    p = _check_file(src)
    container = _open_container(p)
    produced = 0
    try:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        rate = float(stream.average_rate or stream.guessed_rate or 25)
        tb = stream.time_base or Fraction(1, 1000)
        first_pts = stream.start_time if stream.start_time is not None else 0
        audio = None
        if container.streams.audio:
            if _audio_decodes(p):
                audio = _Audio(p, container.streams.audio[0], float(first_pts * tb))
            else:
                logger.warning("%s: the audio cannot be decoded; the playable copy has no sound", p.name)
        streams = [stream] + ([audio.source] if audio else [])
        with VideoWriter(dst, fps=fps, on_open=audio.open if audio else None) as writer:
            last, last_t, slot = None, 0.0, 0  # the frame waiting to be written, its time, the next free slot
            decoded = 0
            try:
                for packet in container.demux(*streams):
                    if audio is not None and packet.stream.index == audio.source.index:
                        audio.feed(writer, packet)
                        continue
                    for frame in packet.decode():
                        t = float((frame.pts - first_pts) * tb) if frame.pts is not None else decoded / rate
                        decoded += 1
                        if t < -1e-6:
                            continue
                        image = frame.to_ndarray(format="rgb24")
                        due = int(round(t * fps))
                        if last is None and t > MAX_GAP_SECONDS:
                            # a late first frame starts the copy and is held until its own time
                            writer.write(image, pts=0)
                            produced, slot = produced + 1, due
                        elif last is not None and t - last_t > MAX_GAP_SECONDS:
                            writer.write(last, pts=slot)  # shown once, held across the gap
                            produced, slot = produced + 1, due
                        else:
                            while last is not None and slot < due:
                                writer.write(last, pts=slot)
                                produced, slot = produced + 1, slot + 1
                        last, last_t = image, t
            except av.FFmpegError as exc:
                # a recording cut short keeps what decoded, like iter_video
                if last is None:
                    raise MediaError(
                        f"{p.name}: the video data cannot be decoded", str(p), cause=exc.__class__.__name__
                    ) from None
            if last is not None:
                writer.write(last, pts=slot)
                produced += 1
                if audio is not None:
                    audio.close(writer)
    finally:
        container.close()
    if produced == 0:
        raise MediaError(f"{p.name}: the video has no decodable frames", str(p))
    return Path(dst)
