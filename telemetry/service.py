# STUB: replaced by the telemetry work.
def configure(db_path, time_zone):
    pass


def get_stats():
    return {}


def health():
    return "missing"


def start_watching(on_change):
    pass


def stop():
    pass
