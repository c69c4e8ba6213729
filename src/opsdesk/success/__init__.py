"""Customer success: accounts, contracts and ARR, health, lifecycle, playbooks, renewals, retention."""
