"""XMTP content topic names; every address in them is an exact EIP-55 string."""

from __future__ import annotations

from app.keyengine.crypto.ethereum import to_checksum_address

PREFIX = "/xmtp/0/"


def contact_topic(address: str) -> str:
    return f"{PREFIX}contact-{to_checksum_address(address)}/proto"


def private_store_topic(address: str) -> str:
    return f"{PREFIX}privatestore-{to_checksum_address(address)}/key_bundle/proto"


def invite_topic(address: str) -> str:
    return f"{PREFIX}invite-{to_checksum_address(address)}/proto"


def dm_topic(address_a: str, address_b: str) -> str:
    """V1 conversation topic: the two EIP-55 addresses sorted by code-unit order."""
    first, second = sorted((to_checksum_address(address_a), to_checksum_address(address_b)))
    return f"{PREFIX}dm-{first}-{second}/proto"


def conversation_topic(topic_id: str) -> str:
    return f"{PREFIX}m-{topic_id}/proto"


def topic_category(topic: str) -> str | None:
    """``contact``, ``privatestore``, ``invite``… for ``/xmtp/0/<category>-…`` topics, else None."""
    if not topic.startswith(PREFIX):
        return None
    segment = topic[len(PREFIX) :].split("/", 1)[0]
    return segment.split("-", 1)[0] if "-" in segment else None
