"""The data model, one module per topic; every name is re-exported here, so
`from knowledge.models import X` works whatever module X lives in.

Importing this package registers every table on `Base.metadata` (what Alembic compares).
"""

from knowledge.models.base import NAMING, Base, UTCDateTime, utcnow
from knowledge.models.chats import Chat, CrisisSignal, Handoff, HandoffCopy, Invitation, Role
from knowledge.models.directory import (
    Address,
    Attribute,
    CostOption,
    Language,
    Location,
    Organization,
    Phone,
    RequiredDocument,
    Schedule,
    Service,
    ServiceArea,
    ServiceAtLocation,
    TaxonomyTerm,
)
from knowledge.models.events import DEFAULT_EVENT_DURATION, Event, Reminder, ReminderStatus, Rsvp
from knowledge.models.followups import (
    FollowUp,
    FollowUpOptOut,
    ListingChange,
    ListingReport,
    OutcomeEvent,
)
from knowledge.models.outbox import Delivery, DeliveryStatus, Message
from knowledge.models.partners import ListingCheck, PartnerLink
from knowledge.models.search import ContentVersion, QueryLog
from knowledge.models.sms import SmsChoice, SmsFile, SmsInbound, SmsNumber, SmsSearch, SmsSending
from knowledge.models.surveys import SurveyAnswer, SurveyProgress, SurveyResponse, SurveyRun
from knowledge.models.toolkit import SampleMaterial, ToolkitResource

__all__ = [
    "Address",
    "Attribute",
    "Base",
    "Chat",
    "ContentVersion",
    "CostOption",
    "CrisisSignal",
    "DEFAULT_EVENT_DURATION",
    "Delivery",
    "DeliveryStatus",
    "Event",
    "FollowUp",
    "FollowUpOptOut",
    "Handoff",
    "HandoffCopy",
    "Invitation",
    "Language",
    "ListingChange",
    "ListingCheck",
    "ListingReport",
    "Location",
    "Message",
    "NAMING",
    "Organization",
    "OutcomeEvent",
    "PartnerLink",
    "Phone",
    "QueryLog",
    "Reminder",
    "ReminderStatus",
    "RequiredDocument",
    "Role",
    "Rsvp",
    "SampleMaterial",
    "Schedule",
    "Service",
    "ServiceArea",
    "ServiceAtLocation",
    "SmsChoice",
    "SmsFile",
    "SmsInbound",
    "SmsNumber",
    "SmsSearch",
    "SmsSending",
    "SurveyAnswer",
    "SurveyProgress",
    "SurveyResponse",
    "SurveyRun",
    "TaxonomyTerm",
    "ToolkitResource",
    "UTCDateTime",
    "utcnow",
]
