from __future__ import annotations

import pytest

from opsdesk.core.settings import Settings
from opsdesk.desk.attachments import AttachmentStore


@pytest.fixture
def store(settings: Settings) -> AttachmentStore:
    return AttachmentStore.from_settings(settings)
