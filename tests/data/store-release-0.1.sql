BEGIN TRANSACTION;
CREATE TABLE attempts (
	id INTEGER NOT NULL, 
	idempotency_key VARCHAR(100) NOT NULL, 
	student_id INTEGER NOT NULL, 
	session_id VARCHAR(40), 
	instance_id VARCHAR(64), 
	kind VARCHAR(16) NOT NULL, 
	image_stem VARCHAR(200) NOT NULL, 
	organ_id INTEGER, 
	dataset_key VARCHAR(200) DEFAULT '' NOT NULL, 
	answer_json TEXT NOT NULL, 
	iou FLOAT, 
	credit FLOAT NOT NULL, 
	passed BOOLEAN NOT NULL, 
	model_iou FLOAT, 
	model_conf FLOAT, 
	elapsed_s FLOAT, 
	feedback TEXT DEFAULT '' NOT NULL, 
	created_s FLOAT NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (idempotency_key), 
	FOREIGN KEY(student_id) REFERENCES students (id)
);
INSERT INTO "attempts" VALUES(1,'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-000',1,'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa','aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-000','locate','0001',2,'real:NNUS','{"box": [331.999863, 177.499677, 411.999705, 254.49989700000003], "choice": null, "labels": [], "not_visible": false, "present": null, "timed_out": false, "verdict": "Pass: IoU 1.00 (pass at 0.50)."}',1.0,1.0,1,0.7436,0.87,7.5,'Pass: IoU 1.00 (pass at 0.50). Well placed: the common carotid artery lies lateral to the thyroid lobe, under the sternocleidomastoid.',1780000030.0);
INSERT INTO "attempts" VALUES(2,'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-001',1,'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa','aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-001','identify','0002',6,'real:NNUS','{"box": null, "choice": 7, "labels": [], "not_visible": false, "present": null, "timed_out": false, "verdict": "Not quite: this is the Strap muscles, not the Sternocleidomastoid."}',NULL,0.0,0,NULL,0.87,7.5,'Not quite: this is the Strap muscles, not the Sternocleidomastoid. It is the Strap muscles: Hypoechoic with bright fascial borders; darker than the thyroid. It lie directly over the thyroid, just under the skin; the Sternocleidomastoid lies just under the skin, lateral to the strap muscles, over the carotid sheath.',1780000045.0);
INSERT INTO "attempts" VALUES(3,'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-002',1,'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa','aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-002','present','0002',7,'real:NNUS','{"box": null, "choice": null, "labels": [], "not_visible": false, "present": true, "timed_out": false, "verdict": "Correct: the Sternocleidomastoid is visible here."}',NULL,1.0,1,NULL,0.87,7.5,'Correct: the Sternocleidomastoid is visible here. The Sternocleidomastoid is in this image (outlined): look just under the skin, lateral to the strap muscles, over the carotid sheath. Hypoechoic with echogenic perimysium: ''starry sky'' dots in short axis, pennate lines in long axis.',1780000060.0);
INSERT INTO "attempts" VALUES(4,'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-003',1,'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa','aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-003','label_all','0001',NULL,'real:NNUS','{"box": null, "choice": null, "labels": [[1, [123.69982300000001, 126.00013650000002, 283.700001, 236.00013149999998]], [2, [331.999863, 177.499677, 411.999705, 254.49989700000003]], [6, [98.99982299999999, 53.50008900000001, 293.000045, 92.499945]]], "not_visible": false, "present": null, "timed_out": false, "verdict": "3 of 4 organs found at IoU >= 0.50."}',NULL,0.75,0,NULL,NULL,7.5,'3 of 4 organs found at IoU >= 0.50. Missed the Sternocleidomastoid: it lies just under the skin, lateral to the strap muscles, over the carotid sheath.',1780000075.0);
INSERT INTO "attempts" VALUES(5,'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-004',1,'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa','aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-004','locate','0002',1,'real:NNUS','{"box": [163.699823, 166.00013650000002, 323.700001, 276.00013149999995], "choice": null, "labels": [], "not_visible": false, "present": null, "timed_out": false, "verdict": "Partly right: IoU 0.31, pass at 0.50."}',0.3134,0.6269,0,0.8349,0.87,7.5,'Partly right: IoU 0.31, pass at 0.50. Close: tighten the box on the thyroid, which lies between the trachea (medial) and the common carotid artery (lateral), under the strap muscles.',1780000090.0);
INSERT INTO "attempts" VALUES(6,'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-005',1,'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa','aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-005','identify','0004',7,'real:NNUS','{"box": null, "choice": 7, "labels": [], "not_visible": false, "present": null, "timed_out": false, "verdict": "Correct: this is the Sternocleidomastoid."}',NULL,1.0,1,NULL,0.87,7.5,'Correct: this is the Sternocleidomastoid. The sternocleidomastoid lies just under the skin, lateral to the strap muscles, over the carotid sheath.',1780000105.0);
INSERT INTO "attempts" VALUES(7,'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-006',1,'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa','aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-006','present','0005',6,'real:NNUS','{"box": null, "choice": null, "labels": [], "not_visible": false, "present": true, "timed_out": false, "verdict": "Correct: the Strap muscles are visible here."}',NULL,1.0,1,NULL,0.87,7.5,'Correct: the Strap muscles are visible here. The Strap muscles are in this image (outlined): look directly over the thyroid, just under the skin. Hypoechoic with bright fascial borders; darker than the thyroid.',1780000120.0);
INSERT INTO "attempts" VALUES(8,'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-007',1,'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa','aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-007','label_all','0006',NULL,'real:NNUS','{"box": null, "choice": null, "labels": [[1, [123.69982300000001, 126.00013650000002, 283.700001, 236.00013149999998]]], "not_visible": false, "present": null, "timed_out": false, "verdict": "1 of 4 organs found at IoU >= 0.50."}',NULL,0.25,0,NULL,NULL,7.5,'1 of 4 organs found at IoU >= 0.50. Missed the Common carotid artery: it lies lateral to the thyroid lobe, under the sternocleidomastoid. Missed the Strap muscles: it lies directly over the thyroid, just under the skin. Missed the Sternocleidomastoid: it lies just under the skin, lateral to the strap muscles, over the carotid sheath.',1780000135.0);
INSERT INTO "attempts" VALUES(9,'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-000',1,'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb','bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-000','locate','0005',7,'real:NNUS','{"box": [281.9999, 62.999956499999996, 453.99983199999997, 128.9999535], "choice": null, "labels": [], "not_visible": false, "present": null, "timed_out": false, "verdict": "Pass: IoU 1.00 (pass at 0.50)."}',1.0,1.0,1,NULL,NULL,7.5,'Pass: IoU 1.00 (pass at 0.50). Well placed: the sternocleidomastoid lies just under the skin, lateral to the strap muscles, over the carotid sheath.',1780000165.0);
INSERT INTO "attempts" VALUES(10,'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-001',1,'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb','bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-001','locate','0003',6,'real:NNUS','{"box": [138.999823, 93.500089, 333.000045, 132.499945], "choice": null, "labels": [], "not_visible": false, "present": null, "timed_out": false, "verdict": "Missed: your box does not overlap the organ."}',0.0,0.0,0,NULL,NULL,7.5,'Missed: your box does not overlap the organ. Too deep: the strap muscles lie more superficial, directly over the thyroid, just under the skin.',1780000180.0);
INSERT INTO "attempts" VALUES(11,'cccccccccccccccccccccccccccccccc-000',2,'cccccccccccccccccccccccccccccccc','cccccccccccccccccccccccccccccccc-000','identify','0002',6,'real:NNUS','{"box": null, "choice": 6, "labels": [], "not_visible": false, "present": null, "timed_out": false, "verdict": "Correct: this is the Strap muscles."}',NULL,1.0,1,NULL,NULL,7.5,'Correct: this is the Strap muscles. The strap muscles lie directly over the thyroid, just under the skin.',1780000217.5);
INSERT INTO "attempts" VALUES(12,'cccccccccccccccccccccccccccccccc-001',2,'cccccccccccccccccccccccccccccccc','cccccccccccccccccccccccccccccccc-001','present','0004',2,'real:NNUS','{"box": null, "choice": null, "labels": [], "not_visible": false, "present": false, "timed_out": false, "verdict": "Not quite: the Common carotid artery is visible in this image."}',NULL,0.0,0,NULL,NULL,7.5,'Not quite: the Common carotid artery is visible in this image. The Common carotid artery is in this image (outlined): look lateral to the thyroid lobe, under the sternocleidomastoid. Anechoic round lumen with bright near and far walls (the intima-media ''double line'') and posterior acoustic enhancement.',1780000232.5);
INSERT INTO "attempts" VALUES(13,'cccccccccccccccccccccccccccccccc-002',2,'cccccccccccccccccccccccccccccccc','cccccccccccccccccccccccccccccccc-002','identify','0005',7,'real:NNUS','{"box": null, "choice": 7, "labels": [], "not_visible": false, "present": null, "timed_out": false, "verdict": "Correct: this is the Sternocleidomastoid."}',NULL,1.0,1,NULL,NULL,7.5,'Correct: this is the Sternocleidomastoid. The sternocleidomastoid lies just under the skin, lateral to the strap muscles, over the carotid sheath.',1780000247.5);
INSERT INTO "attempts" VALUES(14,'dddddddddddddddddddddddddddddddd-000',3,'dddddddddddddddddddddddddddddddd','dddddddddddddddddddddddddddddddd-000','locate','0004',2,'real:NNUS','{"box": [331.999863, 177.499677, 411.999705, 254.49989700000003], "choice": null, "labels": [], "not_visible": false, "present": null, "timed_out": true, "verdict": "Time''s up: answered after 8 s (limit 5 s)."}',1.0,0.0,0,NULL,NULL,7.5,'Time''s up: answered after 8 s (limit 5 s). Well placed: the common carotid artery lies lateral to the thyroid lobe, under the sternocleidomastoid.',1780003877.5);
CREATE TABLE question_instances (
	id VARCHAR(64) NOT NULL, 
	session_id VARCHAR(40) NOT NULL, 
	position INTEGER NOT NULL, 
	kind VARCHAR(16) NOT NULL, 
	image_stem VARCHAR(200) NOT NULL, 
	organ_id INTEGER, 
	payload_json TEXT NOT NULL, 
	served_s FLOAT NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_instance_position UNIQUE (session_id, position), 
	FOREIGN KEY(session_id) REFERENCES quiz_sessions (id)
);
INSERT INTO "question_instances" VALUES('aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-000','aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',0,'locate','0001',2,'{"choices": [], "difficulty": 0.5, "expected_present": true, "image_stem": "0001", "kind": "locate", "organ_id": 2, "reason": "practice", "target_index": null}',1780000022.5);
INSERT INTO "question_instances" VALUES('aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-001','aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',1,'identify','0002',6,'{"choices": [7, 6, 1, 2], "difficulty": 0.348, "expected_present": true, "image_stem": "0002", "kind": "identify", "organ_id": 6, "reason": "practice", "target_index": 2}',1780000037.5);
INSERT INTO "question_instances" VALUES('aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-002','aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',2,'present','0002',7,'{"choices": [], "difficulty": 0.217, "expected_present": true, "image_stem": "0002", "kind": "present", "organ_id": 7, "reason": "practice", "target_index": null}',1780000052.5);
INSERT INTO "question_instances" VALUES('aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-003','aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',3,'label_all','0001',NULL,'{"choices": [], "difficulty": 0.6666666666666666, "expected_present": null, "image_stem": "0001", "kind": "label_all", "organ_id": null, "reason": "", "target_index": null}',1780000067.5);
INSERT INTO "question_instances" VALUES('aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-004','aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',4,'locate','0002',1,'{"choices": [], "difficulty": 0.087, "expected_present": true, "image_stem": "0002", "kind": "locate", "organ_id": 1, "reason": "practice", "target_index": null}',1780000082.5);
INSERT INTO "question_instances" VALUES('aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-005','aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',5,'identify','0004',7,'{"choices": [2, 7, 3, 6], "difficulty": 0.174, "expected_present": true, "image_stem": "0004", "kind": "identify", "organ_id": 7, "reason": "practice", "target_index": 3}',1780000097.5);
INSERT INTO "question_instances" VALUES('aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-006','aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',6,'present','0005',6,'{"choices": [], "difficulty": 0.283, "expected_present": true, "image_stem": "0005", "kind": "present", "organ_id": 6, "reason": "weak or due organ", "target_index": null}',1780000112.5);
INSERT INTO "question_instances" VALUES('aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-007','aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',7,'label_all','0006',NULL,'{"choices": [], "difficulty": 0.6666666666666666, "expected_present": null, "image_stem": "0006", "kind": "label_all", "organ_id": null, "reason": "", "target_index": null}',1780000127.5);
INSERT INTO "question_instances" VALUES('bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-000','bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb',0,'locate','0005',7,'{"choices": [], "difficulty": 0.152, "expected_present": true, "image_stem": "0005", "kind": "locate", "organ_id": 7, "reason": "practice", "target_index": null}',1780000157.5);
INSERT INTO "question_instances" VALUES('bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-001','bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb',1,'locate','0003',6,'{"choices": [], "difficulty": 0.326, "expected_present": true, "image_stem": "0003", "kind": "locate", "organ_id": 6, "reason": "practice", "target_index": null}',1780000172.5);
INSERT INTO "question_instances" VALUES('bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-002','bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb',2,'locate','0002',1,'{"choices": [], "difficulty": 0.087, "expected_present": true, "image_stem": "0002", "kind": "locate", "organ_id": 1, "reason": "practice", "target_index": null}',1780000187.5);
INSERT INTO "question_instances" VALUES('cccccccccccccccccccccccccccccccc-000','cccccccccccccccccccccccccccccccc',0,'identify','0002',6,'{"choices": [6, 2, 1, 7], "difficulty": 0.348, "expected_present": true, "image_stem": "0002", "kind": "identify", "organ_id": 6, "reason": "practice", "target_index": 2}',1780000210.0);
INSERT INTO "question_instances" VALUES('cccccccccccccccccccccccccccccccc-001','cccccccccccccccccccccccccccccccc',1,'present','0004',2,'{"choices": [], "difficulty": 0.435, "expected_present": true, "image_stem": "0004", "kind": "present", "organ_id": 2, "reason": "practice", "target_index": null}',1780000225.0);
INSERT INTO "question_instances" VALUES('cccccccccccccccccccccccccccccccc-002','cccccccccccccccccccccccccccccccc',2,'identify','0005',7,'{"choices": [3, 6, 2, 7], "difficulty": 0.152, "expected_present": true, "image_stem": "0005", "kind": "identify", "organ_id": 7, "reason": "practice", "target_index": 3}',1780000240.0);
INSERT INTO "question_instances" VALUES('dddddddddddddddddddddddddddddddd-000','dddddddddddddddddddddddddddddddd',0,'locate','0004',2,'{"choices": [], "difficulty": 0.435, "expected_present": true, "image_stem": "0004", "kind": "locate", "organ_id": 2, "reason": "practice", "target_index": null}',1780003870.0);
INSERT INTO "question_instances" VALUES('dddddddddddddddddddddddddddddddd-001','dddddddddddddddddddddddddddddddd',1,'locate','0006',2,'{"choices": [], "difficulty": 0.391, "expected_present": true, "image_stem": "0006", "kind": "locate", "organ_id": 2, "reason": "practice", "target_index": null}',1780003885.0);
CREATE TABLE quiz_sessions (
	id VARCHAR(40) NOT NULL, 
	student_id INTEGER NOT NULL, 
	settings_json TEXT NOT NULL, 
	dataset_key VARCHAR(200) NOT NULL, 
	created_s FLOAT NOT NULL, 
	finished_s FLOAT, 
	PRIMARY KEY (id), 
	FOREIGN KEY(student_id) REFERENCES students (id)
);
INSERT INTO "quiz_sessions" VALUES('aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',1,'{"absent_rate": 0.15, "adaptive": true, "difficulty": "mixed", "focus_stem": null, "kinds": ["locate", "identify", "present", "label_all"], "n_questions": 8, "organ_ids": [], "pass_iou": 0.5, "time_limit_s": null}','real:NNUS',1780000015.0,1780000135.0);
INSERT INTO "quiz_sessions" VALUES('bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb',1,'{"absent_rate": 0.15, "adaptive": false, "difficulty": "mixed", "focus_stem": null, "kinds": ["locate"], "n_questions": 4, "organ_ids": [], "pass_iou": 0.5, "time_limit_s": null}','real:NNUS',1780000150.0,NULL);
INSERT INTO "quiz_sessions" VALUES('cccccccccccccccccccccccccccccccc',2,'{"absent_rate": 0.15, "adaptive": true, "difficulty": "mixed", "focus_stem": null, "kinds": ["identify", "present"], "n_questions": 3, "organ_ids": [], "pass_iou": 0.5, "time_limit_s": null}','real:NNUS',1780000202.5,1780000247.5);
INSERT INTO "quiz_sessions" VALUES('dddddddddddddddddddddddddddddddd',3,'{"absent_rate": 0.15, "adaptive": true, "difficulty": "mixed", "focus_stem": null, "kinds": ["locate"], "n_questions": 2, "organ_ids": [1, 2], "pass_iou": 0.5, "time_limit_s": 5}','real:NNUS',1780003862.5,NULL);
CREATE TABLE schema_version (
	version INTEGER NOT NULL, 
	description VARCHAR(200) NOT NULL, 
	applied_s FLOAT NOT NULL, 
	PRIMARY KEY (version)
);
INSERT INTO "schema_version" VALUES(1,'students, quiz sessions, question instances, attempts',1.79617397120684623712e+09);
INSERT INTO "schema_version" VALUES(2,'indexes for history and per-organ queries',1.79617397120750260349e+09);
CREATE TABLE students (
	id INTEGER NOT NULL, 
	name_key VARCHAR(160) NOT NULL, 
	display_name VARCHAR(160) NOT NULL, 
	created_s FLOAT NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (name_key)
);
INSERT INTO "students" VALUES(1,'ana','Ana',1780000007.5);
INSERT INTO "students" VALUES(2,'zoé <b>müller</b>','Zoé <b>Müller</b>',1780000195.0);
INSERT INTO "students" VALUES(3,'bob','Bob',1780003855.0);
INSERT INTO "students" VALUES(4,'carla','Carla',1780003892.5);
CREATE INDEX ix_sessions_student ON quiz_sessions (student_id);
CREATE INDEX ix_attempts_student_organ ON attempts (student_id, organ_id);
CREATE INDEX ix_attempts_student_time ON attempts (student_id, created_s);
COMMIT;
