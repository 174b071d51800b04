"""Fixtures for the deployment servers: fake_models_yaml lives in tests/conftest.py."""
