"""Seminar archive: topics, seminars and their sessions, transcripts, recordings, topic links.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24

"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: Union[str, Sequence[str], None] = '0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('seminars',
    sa.Column('id', sa.String(length=80), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('title_en', sa.Text(), nullable=True),
    sa.Column('start_date', sa.Date(), nullable=True),
    sa.Column('end_date', sa.Date(), nullable=True),
    sa.Column('languages', sa.JSON(), nullable=False),
    sa.Column('objectives', sa.Text(), nullable=True),
    sa.Column('format', sa.Text(), nullable=True),
    sa.Column('background', sa.Text(), nullable=True),
    sa.Column('related', sa.JSON(), nullable=False),
    sa.Column('manifest_sha256', sa.String(length=64), nullable=False),
    sa.Column('source_key', sa.Text(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_seminars'))
    )
    op.create_table('topics',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('label_fr', sa.Text(), nullable=False),
    sa.Column('label_en', sa.Text(), nullable=False),
    sa.Column('description_fr', sa.Text(), nullable=False),
    sa.Column('description_en', sa.Text(), nullable=False),
    sa.Column('parent', sa.String(length=64), nullable=True),
    sa.Column('grp', sa.String(length=16), nullable=True),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_topics'))
    )
    op.create_table('transcripts',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('media_sha256', sa.String(length=64), nullable=False),
    sa.Column('language', sa.String(length=2), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('source_sha256', sa.String(length=64), nullable=False),
    sa.Column('cues', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("source IN ('captions', 'whisper')", name=op.f('ck_transcripts_source')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_transcripts')),
    sa.UniqueConstraint('media_sha256', 'language', 'source', 'source_sha256', name='uq_transcripts_content')
    )
    with op.batch_alter_table('transcripts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_transcripts_media_sha256'), ['media_sha256'], unique=False)

    op.create_table('recordings',
    sa.Column('doc_id', sa.String(length=12), nullable=False),
    sa.Column('seminar_id', sa.String(length=80), nullable=True),
    sa.Column('key', sa.String(length=80), nullable=True),
    sa.Column('language', sa.String(length=2), nullable=False),
    sa.Column('duration', sa.Float(), nullable=False),
    sa.Column('has_video', sa.Boolean(), nullable=False),
    sa.Column('transcript_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['doc_id'], ['documents.id'], name=op.f('fk_recordings_doc_id_documents'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['seminar_id'], ['seminars.id'], name=op.f('fk_recordings_seminar_id_seminars'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['transcript_id'], ['transcripts.id'], name=op.f('fk_recordings_transcript_id_transcripts')),
    sa.PrimaryKeyConstraint('doc_id', name=op.f('pk_recordings'))
    )
    with op.batch_alter_table('recordings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recordings_seminar_id'), ['seminar_id'], unique=False)

    op.create_table('seminar_sessions',
    sa.Column('seminar_id', sa.String(length=80), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('speakers', sa.JSON(), nullable=False),
    sa.Column('recording_key', sa.String(length=80), nullable=True),
    sa.Column('start', sa.Float(), nullable=True),
    sa.Column('end', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['seminar_id'], ['seminars.id'], name=op.f('fk_seminar_sessions_seminar_id_seminars'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('seminar_id', 'number', name=op.f('pk_seminar_sessions'))
    )
    op.create_table('topic_links',
    sa.Column('passage_id', sa.String(length=36), nullable=False),
    sa.Column('topic_id', sa.String(length=64), nullable=False),
    sa.Column('doc_id', sa.String(length=12), nullable=False),
    sa.Column('doc_version', sa.Integer(), nullable=False),
    sa.Column('score', sa.Float(), nullable=True),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('decided_by', sa.Text(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("state IN ('suggested', 'confirmed', 'rejected')", name=op.f('ck_topic_links_state')),
    sa.ForeignKeyConstraint(['doc_id'], ['documents.id'], name=op.f('fk_topic_links_doc_id_documents'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['topic_id'], ['topics.id'], name=op.f('fk_topic_links_topic_id_topics'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('passage_id', 'topic_id', name=op.f('pk_topic_links'))
    )
    with op.batch_alter_table('topic_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_topic_links_doc_id'), ['doc_id'], unique=False)
        batch_op.create_index('ix_topic_links_topic_state', ['topic_id', 'state'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('topic_links', schema=None) as batch_op:
        batch_op.drop_index('ix_topic_links_topic_state')
        batch_op.drop_index(batch_op.f('ix_topic_links_doc_id'))

    op.drop_table('topic_links')
    op.drop_table('seminar_sessions')
    with op.batch_alter_table('recordings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recordings_seminar_id'))

    op.drop_table('recordings')
    with op.batch_alter_table('transcripts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_transcripts_media_sha256'))

    op.drop_table('transcripts')
    op.drop_table('topics')
    op.drop_table('seminars')
