"""Images as job categories: the local image a template names (pulled when
the policy says so), and its config (entrypoint, cmd), cached by digest."""
from __future__ import annotations

import logging
import threading

from ..backends.base import ContainerBackend
from ..backends.errors import BackendError
from ..backends.models import ImageConfig, ImageRecord
from ..drmaa2.errors import InvalidArgumentError
from ..records.statedir import StateDir

log = logging.getLogger(__name__)

PULL_POLICIES = ("missing", "always", "never")


class Images:
    def __init__(self, backend: ContainerBackend, state: StateDir, pull_policy: str) -> None:
        self.backend = backend
        self.state = state
        self.pull_policy = pull_policy
        self._configs: dict[str, ImageConfig] = {}
        self._lock = threading.Lock()  # an array's tasks, submitted side by side, ask once

    def categories(self) -> list[str]:
        return sorted({image.name for image in self.backend.list_images()})

    def unchecked(self, ref: str) -> ImageRecord | None:
        """The image by name only, not looked up, where the backend refuses a
        missing image before making anything and the policy does not pull
        every time: the lookup (and pull) waits for that refusal, and a
        submission costs one CLI call less. ``None``: resolve it first."""
        if self.backend.refuses_missing_images and self.pull_policy != "always":
            return ImageRecord(name=ref, looked_up=False)
        return None

    def resolve(self, ref: str) -> ImageRecord:
        """The local image, pulled first when the policy says so."""
        images = {image.name: image for image in self.backend.list_images()}
        if ref in images and self.pull_policy != "always":
            return images[ref]
        if self.pull_policy == "never":
            raise InvalidArgumentError(f"image {ref!r} is not present and pull_policy is 'never'")
        try:
            self.backend.pull_image(ref)
        except BackendError as exc:
            if ref in images:  # 'always', but the registry is unreachable: keep the local copy
                log.warning("pulling %s failed, using the local image: %s", ref, exc)
                return images[ref]
            raise InvalidArgumentError(
                f"image {ref!r} is not present and could not be pulled", argv=exc.argv,
                exit_code=exc.exit_code, stderr=exc.stderr,
            ) from exc
        images = {image.name: image for image in self.backend.list_images()}
        if ref not in images:
            raise InvalidArgumentError(f"image {ref!r} not present after pulling it")
        return images[ref]

    def config(self, image: ImageRecord) -> ImageConfig:
        """Cached by content digest (immutable); an image without a usable
        digest is asked every time rather than risk another image's config.
        An unchecked image is looked up first."""
        if not image.looked_up:
            image = self.resolve(image.name)
        key = image.digest if image.digest.startswith(("sha256:", "id:")) else None
        if key is None:
            return self.backend.image_config(image)
        with self._lock:
            return self._config(image, key)

    def _config(self, image: ImageRecord, key: str) -> ImageConfig:
        if key not in self._configs:
            cached = self.state.cached_image_config(key)
            if cached is not None:
                config = ImageConfig.model_validate(cached)
            else:
                config = self.backend.image_config(image)
                try:
                    self.state.cache_image_config(key, config.model_dump())
                except OSError as exc:
                    log.warning("cannot cache the config of %s: %s", image.name, exc)
            self._configs[key] = config
        return self._configs[key]
