"""Database tables owned by the linker: customers, their domains and contacts, and message links."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ingest.models import Base


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(500), unique=True)
    country: Mapped[str] = mapped_column(String(200), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    # Columns of an imported customer sheet that Dossier has no field for.
    fields: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime)

    domains: Mapped[list[CustomerDomain]] = relationship(
        back_populates="customer", cascade="all, delete-orphan", order_by="CustomerDomain.domain"
    )
    contacts: Mapped[list[Contact]] = relationship(
        back_populates="customer", cascade="all, delete-orphan", order_by="Contact.email"
    )


class CustomerDomain(Base):
    """A mail domain a customer owns; several customers may claim the same one."""

    __tablename__ = "customer_domains"
    __table_args__ = (
        UniqueConstraint("customer_id", "domain"),
        Index("ix_customer_domains_domain", "domain"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    domain: Mapped[str] = mapped_column(String(255))

    customer: Mapped[Customer] = relationship(back_populates="domains")


class Contact(Base):
    """An exact address known to belong to a customer (the only way free-mail links)."""

    __tablename__ = "customer_contacts"
    __table_args__ = (
        UniqueConstraint("customer_id", "email"),
        Index("ix_customer_contacts_email", "email"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(320))

    customer: Mapped[Customer] = relationship(back_populates="contacts")


class Link(Base):
    """Why a message belongs to a customer: the participant role, the rule, the value matched."""

    __tablename__ = "links"
    __table_args__ = (
        UniqueConstraint("message_id", "customer_id", "role"),
        Index("ix_links_customer", "customer_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(16))
    method: Mapped[str] = mapped_column(String(16))  # pin | address | domain | thread (match.METHODS)
    matched: Mapped[str] = mapped_column(String(320))


class LinkOverride(Base):
    """A user's correction of one message's link: ``pin`` links it to the customer whatever the
    rules say, ``block`` never links it. Relinking recomputes everything but these."""

    __tablename__ = "link_overrides"
    __table_args__ = (
        UniqueConstraint("message_id", "customer_id"),
        Index("ix_link_overrides_customer", "customer_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    action: Mapped[str] = mapped_column(String(8))  # pin | block
    created_at: Mapped[datetime] = mapped_column(DateTime)
