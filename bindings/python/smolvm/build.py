"""The SmolVM Python project's image-building module name
(``from smolvm.build import SSH_BOOT_ARGS, ImageBuilder``). SmolVM builds its
images with ``smolvm image build`` (named with ``--name``, issue #23), and
``SmolVM(image=NAME)`` boots one."""

from ._unavailable import SSH_BOOT_ARGS, DockerRootfsBuilder, ImageBuilder

__all__ = ["SSH_BOOT_ARGS", "ImageBuilder", "DockerRootfsBuilder"]
