"""Database tables owned by the linker: customers, their domains and contacts, and message links."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ingest.models import Base


class Customer(Base):
    __tablename__ = "customers"
    # Indexed: handing a rep's customers over (and a rep's own view) looks customers up by owner.
    __table_args__ = (Index("ix_customers_owner", "owner"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(Text, unique=True)
    country: Mapped[str] = mapped_column(Text, default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    # The rep in charge, as the sheet names them: a normalised e-mail address, else a name.
    owner: Mapped[str] = mapped_column(Text, default="", server_default="")
    # Columns of an imported customer sheet that Dossier has no field for.
    fields: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime)

    domains: Mapped[list[CustomerDomain]] = relationship(
        back_populates="customer", cascade="all, delete-orphan", order_by="CustomerDomain.domain"
    )
    contacts: Mapped[list[Contact]] = relationship(
        back_populates="customer", cascade="all, delete-orphan", order_by="Contact.email"
    )
    people: Mapped[list[CustomerPerson]] = relationship(
        back_populates="customer", cascade="all, delete-orphan", order_by="CustomerPerson.id"
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
    domain: Mapped[str] = mapped_column(Text)

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
    email: Mapped[str] = mapped_column(Text)

    customer: Mapped[Customer] = relationship(back_populates="contacts")


class CustomerPerson(Base):
    """A contact person or phone number on file for a customer (from its sheet): a name, a phone,
    or both when the sheet pairs them. Addresses are contacts (they link mail); these only inform."""

    __tablename__ = "customer_people"
    __table_args__ = (
        UniqueConstraint("customer_id", "name", "phone"),
        Index("ix_customer_people_customer", "customer_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(Text, default="")
    phone: Mapped[str] = mapped_column(Text, default="")

    customer: Mapped[Customer] = relationship(back_populates="people")


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
    matched: Mapped[str] = mapped_column(Text)


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
