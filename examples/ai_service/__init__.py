"""A reference external AI service for AutomationOne (docs/ai_service.md)."""
