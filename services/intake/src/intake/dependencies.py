"""intake's own dependency providers."""
from nameko.extensions import DependencyProvider

from .classification import ClassifierCache
from .domain.classify import Segmenter


class Classifiers(DependencyProvider):
    """One ``ClassifierCache`` per service container; loads jieba's dictionary at start (about a second), so
    the first complaint does not wait for it."""

    def setup(self):
        self.cache = ClassifierCache()

    def start(self):
        Segmenter.warm()

    def get_dependency(self, worker_ctx):
        return self.cache
