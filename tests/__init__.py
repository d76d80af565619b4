"""Tests for AutomationOne."""
