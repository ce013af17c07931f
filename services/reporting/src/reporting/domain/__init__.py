"""Plain Python: no nameko, SQLAlchemy or kombu here."""
