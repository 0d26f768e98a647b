"""Keystore methods about conversations: invitations, V1/V2 lists, refresh jobs, preferences.

``saveInvites`` opens invitations sealed to **any** pre-key in the history (xmtp-js only tries
the current one); otherwise every answer is what xmtp-js 13.0.4's ``InMemoryKeystore`` gives.
"""

from __future__ import annotations

from app.keyengine.bundles import SignedPublicKeyBundle
from app.keyengine.crypto import aead
from app.keyengine.dh import three_dh
from app.keyengine.errors import InvalidInvitation, KeyEngineError
from app.keyengine.invitations import (
    Invitation,
    SealedInvitation,
    SealedInvitationHeader,
    derive_conversation,
)
from app.keyengine.keystore_service.context import CallContext, answer_each, require
from app.keyengine.keystore_service.errors import INVALID_INPUT, KeystoreMethodError
from app.keyengine.keystore_service.state import TopicData
from app.keyengine.proto import (
    conversation_reference_pb2,
    invitation_pb2,
)
from app.keyengine.proto import (
    keystore_api_pb2 as api,
)
from app.keyengine.topics import dm_topic

_POINT = 65
ConversationReference = conversation_reference_pb2.ConversationReference


def _reference(data: TopicData) -> ConversationReference:
    """``topicDataToV2ConversationReference``: the invitation's topic, context and consent."""
    ref = ConversationReference(
        topic=data.invitation.topic, peer_address=data.peer_address, created_ns=data.created_ns
    )
    if data.invitation.HasField("context"):
        ref.context.CopyFrom(data.invitation.context)
    if data.invitation.HasField("consent_proof"):
        ref.consent_proof_payload.CopyFrom(data.invitation.consent_proof)
    return ref


def _open(ctx: CallContext, payload: bytes, timestamp_ns: int) -> TopicData:
    """Open a sealed invitation we sent or received, with the pre-key its header names."""
    sealed = SealedInvitation.from_bytes(payload)
    header = sealed.header
    if header.created_ns != timestamp_ns:
        raise InvalidInvitation("envelope and header timestamp mismatch")
    me = ctx.bundle.identity_key
    if header.sender.identity_key.point == me.public_key.point:
        peer, my_pre_point, is_recipient = header.recipient, header.sender.pre_key.point, False
    elif header.recipient.identity_key.point == me.public_key.point:
        peer, my_pre_point, is_recipient = header.sender, header.recipient.pre_key.point, True
    else:
        raise InvalidInvitation("this invitation is not addressed to this identity")
    pre_key = ctx.bundle.find_pre_key(my_pre_point)
    secret = three_dh(me, pre_key, peer.identity_key, peer.pre_key, is_recipient=is_recipient)
    plaintext = aead.decrypt(sealed.ciphertext, secret, sealed.header_bytes)
    Invitation.from_bytes(plaintext)  # the engine's checks: topic and 32-byte key material
    data = TopicData(created_ns=header.created_ns, peer_address=peer.wallet_address)
    data.invitation.ParseFromString(plaintext)
    return data


def save_invites(ctx: CallContext, req: api.SaveInvitesRequest) -> api.SaveInvitesResponse:
    opened: list[tuple[str, TopicData]] = []

    def work(
        item: api.SaveInvitesRequest.Request, success: api.SaveInvitesResponse.Response.Success
    ) -> None:
        data = _open(ctx, item.payload, item.timestamp_ns)
        opened.append((data.invitation.topic, data))
        success.conversation.CopyFrom(_reference(data))

    out = api.SaveInvitesResponse()
    answer_each(req.requests, out.responses, work, INVALID_INPUT)
    ctx.state.add_topics(ctx.state.v2, opened)
    return out


def _swap_first_two(secret: bytes) -> bytes:
    return secret[_POINT : 2 * _POINT] + secret[:_POINT] + secret[2 * _POINT :]


def create_invite(ctx: CallContext, req: api.CreateInviteRequest) -> api.CreateInviteResponse:
    """Deterministic topic and key material for the pair, sealed from our current pre-key."""
    require(req.HasField("recipient"), "recipient")
    try:
        recipient = SignedPublicKeyBundle.from_proto(req.recipient)
        their_address = recipient.wallet_address
        is_recipient = ctx.address < their_address
        secret = three_dh(
            ctx.bundle.identity_key,
            ctx.bundle.current_pre_key,
            recipient.identity_key,
            recipient.pre_key,
            is_recipient=is_recipient,
        )
    except KeyEngineError as exc:
        raise KeystoreMethodError(INVALID_INPUT, str(exc)) from None
    conversation_id = req.context.conversation_id if req.HasField("context") else ""
    topic, key_material = derive_conversation(secret, ctx.address, their_address, conversation_id)
    invitation = invitation_pb2.InvitationV1(topic=topic)
    if req.HasField("context"):
        invitation.context.CopyFrom(req.context)
    invitation.aes256_gcm_hkdf_sha256.key_material = key_material
    if req.HasField("consent_proof"):
        invitation.consent_proof.CopyFrom(req.consent_proof)
    created_ms_ns = req.created_ns // 1_000_000 * 1_000_000
    header = SealedInvitationHeader(ctx.bundle.signed_public_key_bundle(), recipient, created_ms_ns)
    header_bytes = header.to_bytes()
    seal_secret = _swap_first_two(secret) if is_recipient else secret
    ciphertext = aead.encrypt(invitation.SerializeToString(), seal_secret, header_bytes)
    sealed = SealedInvitation(header_bytes, header, ciphertext)
    data = TopicData(created_ns=req.created_ns, peer_address=their_address)
    data.invitation.CopyFrom(invitation)
    ctx.state.add_topics(ctx.state.v2, [(topic, data)])
    return api.CreateInviteResponse(conversation=_reference(data), payload=sealed.to_bytes())


def save_v1_conversations(
    ctx: CallContext, req: api.SaveV1ConversationsRequest
) -> api.SaveV1ConversationsResponse:
    rows: list[tuple[str, TopicData]] = []
    for convo in req.conversations:
        if not convo.peer_address:
            continue
        try:
            topic = dm_topic(convo.peer_address, ctx.address)
        except KeyEngineError:
            continue
        rows.append(
            (topic, TopicData(created_ns=convo.created_ns, peer_address=convo.peer_address))
        )
    ctx.state.add_topics(ctx.state.v1, rows)
    return api.SaveV1ConversationsResponse()


def v1_conversations(ctx: CallContext, _req: None) -> api.GetConversationsResponse:
    out = api.GetConversationsResponse()
    for topic, data in ctx.state.v1.items():
        out.conversations.add(
            topic=topic, peer_address=data.peer_address, created_ns=data.created_ns
        )
    return out


def v2_conversations(ctx: CallContext, _req: None) -> api.GetConversationsResponse:
    """Sorted by created time in milliseconds (stable), as xmtp-js sorts them."""
    refs = [_reference(data) for data in ctx.state.v2.values()]
    refs.sort(key=lambda ref: ref.created_ns // 1_000_000)
    out = api.GetConversationsResponse()
    out.conversations.extend(refs)
    return out


def get_refresh_job(ctx: CallContext, req: api.GetRefreshJobRequest) -> api.GetRefreshJobResponse:
    if req.job_type == api.JOB_TYPE_UNSPECIFIED:
        raise KeystoreMethodError(INVALID_INPUT, "invalid job type")
    return api.GetRefreshJobResponse(last_run_ns=ctx.state.refresh_jobs.get(req.job_type, 0))


def set_refresh_job(ctx: CallContext, req: api.SetRefeshJobRequest) -> api.SetRefreshJobResponse:
    ctx.state.refresh_jobs[req.job_type] = req.last_run_ns
    ctx.state.save()
    return api.SetRefreshJobResponse()


def save_preferences(
    ctx: CallContext, req: api.PrivatePreferencesActionMap
) -> api.PrivatePreferencesActionMap:
    """Companion extension (not in ``apiDefs``): keep the app's decoded consent actions."""
    for key in sorted(req.actions):
        ctx.state.preferences[key] = req.actions[key]
    ctx.state.save()
    return api.PrivatePreferencesActionMap()


def get_preferences(ctx: CallContext, _req: None) -> api.PrivatePreferencesActionMap:
    out = api.PrivatePreferencesActionMap()
    for key, action in ctx.state.preferences.items():
        out.actions[key].CopyFrom(action)
    return out
