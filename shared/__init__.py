# Before any metric exists in the process (see shared/metrics.py).
from shared.metrics import use_cached_process_id

use_cached_process_id()
