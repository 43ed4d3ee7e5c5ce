-- DeleteTopic deletes the topic's committed offsets of every group.
CREATE INDEX group_offsets_topic ON group_offsets (topic);
