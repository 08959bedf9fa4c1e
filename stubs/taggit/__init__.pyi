# Type stubs for the parts of django-taggit this project uses (taggit ships no type information).
# Without them the codes' base class is Any, so mypy does not see Code and Coding as models.
