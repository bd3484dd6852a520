from services.api.store.sqlite import AlreadyExists, Conflict, Gone, NotFound, Store, StoreError  # noqa: F401
