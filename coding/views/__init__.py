"""Views, one module per page group. urls.py names them by module."""
