from tests.test_access_matrix import world  # noqa: F401  (the access matrix's world, reused)
