from services.api.store.sqlite import (  # noqa: F401  (the store's public names)
    AlreadyExists, Conflict, Corrupt, Failed, Full, Gone, NotFound, Store, StoreError)
from services.api.store.kube import KubeStore  # noqa: F401,E402
