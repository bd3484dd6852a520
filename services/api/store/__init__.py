from services.api.store.sqlite import (  # noqa: F401  (the store's public names)
    AlreadyExists, Conflict, Gone, NotFound, Store, StoreError)
