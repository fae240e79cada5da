"""The SmolVM Python project's image-building module name
(``from smolvm.build import SSH_BOOT_ARGS, ImageBuilder``). SmolVM builds its
default image with ``smolvm image build``; custom images come with issue #23."""

from ._unavailable import SSH_BOOT_ARGS, DockerRootfsBuilder, ImageBuilder

__all__ = ["SSH_BOOT_ARGS", "ImageBuilder", "DockerRootfsBuilder"]
