"""aws-samples next_steps/core_use_cases/updating_datasets
(update-item-dataset-schema-example): an ECOMMERCE dataset group with
users (extra columns in the file), items imported with three columns of
the full file, interactions with a DISCOUNT context; an
aws-item-attribute-affinity solution and a batch segment job over
`itemAttributes` queries (`ITEMS.CATEGORY_L1 = "..."`); then a wider Items
schema ("version": "1.1") put on the dataset with update_dataset, the full
items file imported again (FULL), a second solution and segment job, both
solutions' metrics, the bucket emptied and deleted, and the dataset group
deleted with its resources (the retail demo store's helper; the samples'
clean-up module here) before the first items schema.

Data: retail-like users, items and interactions in place of the retail
demo store's files. Left out: the IAM role and policy (named here).
"""
import json
import random
import time

import boto3

import compat
import cleanup


def main():
    token = "7d1c"
    personalize = boto3.client("personalize")
    s3 = boto3.client("s3")
    bucket_name = compat.personalize_bucket(compat.bucket_name("personalize-update-schema-" + token))
    role_arn = compat.ROLE_ARN

    items, inter = compat.retail(users=120, items=180, seed=101)
    users = sorted({r["USER_ID"] for r in inter}, key=int)
    rnd = random.Random(3)
    users_filename, items_filename, interactions_filename = "users.csv", "items.csv", "interactions.csv"
    compat.write_frame(compat.path(users_filename),
                       [{"USER_ID": u, "USERNAME": "user" + u, "AGE": rnd.randint(18, 80),
                         "GENDER": rnd.choice("MF"), "PERSONA": "apparel_footwear"} for u in users],
                       ["USER_ID", "USERNAME", "AGE", "GENDER", "PERSONA"])
    compat.write_frame(compat.path(items_filename), items,
                       ["ITEM_ID", "PRICE", "CATEGORY_L1", "CATEGORY_L2", "PRODUCT_DESCRIPTION", "GENDER",
                        "PROMOTED"])
    compat.write_frame(compat.path(interactions_filename), inter,
                       ["ITEM_ID", "USER_ID", "EVENT_TYPE", "TIMESTAMP", "DISCOUNT"])
    for name in [users_filename, items_filename, interactions_filename]:
        boto3.Session().resource("s3").Bucket(bucket_name).Object(name).upload_file(compat.path(name))
    items_basic_filename = "items_basic.csv"
    compat.write_frame(compat.path(items_basic_filename), items, ["ITEM_ID", "PRICE", "CATEGORY_L1"])
    s3.upload_file(compat.path(items_basic_filename), bucket_name, items_basic_filename)

    def schema(name, record, fields, version="1.0"):
        return personalize.create_schema(name=name, domain="ECOMMERCE", schema=json.dumps({
            "type": "record", "name": record, "namespace": "com.amazonaws.personalize.schema",
            "fields": fields, "version": version}))["schemaArn"]
    users_schema_arn = schema("retaildemostore-products-users-schema-" + token, "Users", [
        {"name": "USER_ID", "type": "string"}, {"name": "AGE", "type": "int"},
        {"name": "GENDER", "type": "string", "categorical": True}])
    items_schema_arn = schema("items-schema-" + token, "Items", [
        {"name": "ITEM_ID", "type": "string"}, {"name": "PRICE", "type": "float"},
        {"name": "CATEGORY_L1", "type": "string", "categorical": True}])
    interactions_schema_arn = schema("interactions-schema-" + token, "Interactions", [
        {"name": "ITEM_ID", "type": "string"}, {"name": "USER_ID", "type": "string"},
        {"name": "EVENT_TYPE", "type": "string"}, {"name": "TIMESTAMP", "type": "long"},
        {"name": "DISCOUNT", "type": "string"}])

    dataset_group_name = "retaildemostore-products-DSG-" + token
    dataset_group_arn = personalize.create_dataset_group(name=dataset_group_name,
                                                         domain="ECOMMERCE")["datasetGroupArn"]
    compat.wait(lambda: personalize.describe_dataset_group(datasetGroupArn=dataset_group_arn), "datasetGroup", 15)
    users_dataset_arn = personalize.create_dataset(
        name="retaildemostore-products-users-ds-" + token, datasetType="USERS", datasetGroupArn=dataset_group_arn,
        schemaArn=users_schema_arn)["datasetArn"]
    items_dataset_arn = personalize.create_dataset(
        name="retaildemostore-products-items-ds-" + token, datasetType="ITEMS", datasetGroupArn=dataset_group_arn,
        schemaArn=items_schema_arn)["datasetArn"]
    interactions_dataset_arn = personalize.create_dataset(
        name="retaildemostore-products-interactions-ds-" + token, datasetType="INTERACTIONS",
        datasetGroupArn=dataset_group_arn, schemaArn=interactions_schema_arn)["datasetArn"]
    dataset_arns = [items_dataset_arn, users_dataset_arn, interactions_dataset_arn]
    max_time = time.time() + 3 * 60 * 60
    while time.time() < max_time:
        for dataset_arn in reversed(dataset_arns):
            status = personalize.describe_dataset(datasetArn=dataset_arn)["dataset"]["status"]
            if status in ("ACTIVE", "CREATE FAILED"):
                dataset_arns.remove(dataset_arn)
        if len(dataset_arns) > 0:
            time.sleep(15)
        else:
            break

    def import_job(name, dataset_arn, key, **extra):
        return personalize.create_dataset_import_job(
            jobName=name, datasetArn=dataset_arn, dataSource={"dataLocation": "s3://{}/{}".format(bucket_name, key)},
            roleArn=role_arn, **extra)["datasetImportJobArn"]

    def wait_jobs(import_job_arns):
        max_time = time.time() + 3 * 60 * 60
        while time.time() < max_time:
            for job_arn in reversed(import_job_arns):
                job = personalize.describe_dataset_import_job(datasetImportJobArn=job_arn)["datasetImportJob"]
                if job["status"] in ("ACTIVE", "CREATE FAILED"):
                    compat.active(job, job["jobName"])
                    import_job_arns.remove(job_arn)
            if len(import_job_arns) > 0:
                time.sleep(60)
            else:
                break
    wait_jobs([import_job("import-job-users-1a2b", users_dataset_arn, users_filename),
               import_job("import-job-items-1a2b", items_dataset_arn, items_basic_filename),
               import_job("import-job-interactions-1a2b", interactions_dataset_arn, interactions_filename)])

    def train(name):
        solution_arn = personalize.create_solution(
            name=name, datasetGroupArn=dataset_group_arn,
            recipeArn="arn:aws:personalize:::recipe/aws-item-attribute-affinity")["solutionArn"]
        version_arn = personalize.create_solution_version(solutionArn=solution_arn)["solutionVersionArn"]
        max_time = time.time() + 3 * 60 * 60
        while time.time() < max_time:
            v = personalize.describe_solution_version(solutionVersionArn=version_arn)["solutionVersion"]
            if v["status"] in ("ACTIVE", "CREATE FAILED"):
                compat.active(v, name)
                break
            time.sleep(60)
        return version_arn

    def segment_job(version_arn, job_name, input_filename):
        s3_input_key = "batch-job-inputs/item-attribute-affinity-job/" + input_filename
        s3.upload_file(compat.path(input_filename), bucket_name, s3_input_key)
        compat.expect(s3_input_key in [o["Key"] for o in s3.list_objects(Bucket=bucket_name)["Contents"]],
                      "input not listed")
        arn = personalize.create_batch_segment_job(
            solutionVersionArn=version_arn, jobName=job_name, roleArn=role_arn,
            jobInput={"s3DataSource": {"path": "s3://" + bucket_name + "/" + s3_input_key}},
            jobOutput={"s3DataDestination": {"path": s3_output_path}}, numResults=y)["batchSegmentJobArn"]
        max_time = time.time() + 3 * 60 * 60
        while time.time() < max_time:
            job = personalize.describe_batch_segment_job(batchSegmentJobArn=arn)["batchSegmentJob"]
            if job["status"] in ("ACTIVE", "CREATE FAILED"):
                compat.active(job, job_name)
                break
            time.sleep(60)
        out = input_filename + ".out"
        s3.download_file(bucket_name, "batch-job-outputs/item-attribute-affinity-job/" + out, compat.path(out))
        with open(compat.path(out)) as f:
            lines = [json.loads(line) for line in f if line.strip()]
        compat.expect(len(lines) == x, "%d output lines for %d queries" % (len(lines), x))
        for line in lines:
            users_list = line["output"]["usersList"]
            compat.expect(0 < len(users_list) <= y, "segment of %d users" % len(users_list))

    solution_version_arn = train("my-original-solution-" + token)
    personalize.describe_schema(schemaArn=items_schema_arn)
    x, y = 3, 10
    categories = sorted({i["CATEGORY_L1"] for i in items})[:x]
    job_input_filename = "job_input.json"
    with open(compat.path(job_input_filename), "w") as json_input:
        for category in categories:
            json_input.write(f'{{"itemAttributes": "ITEMS.CATEGORY_L1 = \\"{category}\\""}}\n')
    s3_output_path = "s3://" + bucket_name + "/batch-job-outputs/item-attribute-affinity-job/"
    segment_job(solution_version_arn, "retaildemostore-item-attribute-affinity-job-" + token, job_input_filename)

    updated_items_schema_arn = schema("import-job-updated-items-schema-" + token, "Items", [
        {"name": "ITEM_ID", "type": "string"}, {"name": "PRICE", "type": "float"},
        {"name": "CATEGORY_L1", "type": "string", "categorical": True},
        {"name": "CATEGORY_L2", "type": ["string", "null"], "categorical": True},
        {"name": "PRODUCT_DESCRIPTION", "type": ["string", "null"], "textual": True},
        {"name": "GENDER", "type": ["string", "null"], "categorical": True},
        {"name": "PROMOTED", "type": ["string", "null"]}], version="1.1")
    updated_items_dataset_arn = personalize.update_dataset(
        datasetArn=items_dataset_arn, schemaArn=updated_items_schema_arn)["datasetArn"]
    max_time = time.time() + 1 * 60 * 60
    while time.time() < max_time:
        d = personalize.describe_dataset(datasetArn=updated_items_dataset_arn)["dataset"]
        if d["status"] in ("ACTIVE", "CREATE FAILED"):
            break
        time.sleep(15)
    wait_jobs([import_job("updated-items-dataset-import-job-" + token, updated_items_dataset_arn,
                          items_filename, importMode="FULL")])
    d = personalize.describe_dataset(datasetArn=updated_items_dataset_arn)["dataset"]
    compat.expect(d["schemaArn"] == updated_items_schema_arn, "dataset schema " + d["schemaArn"])

    updated_solution_version_arn = train("my-updated-solution-" + token)
    job_input_filename_updated = "job_input_updated.json"
    with open(compat.path(job_input_filename), "rb") as a, open(compat.path(job_input_filename_updated), "wb") as b:
        b.write(a.read())
    segment_job(updated_solution_version_arn, "retaildemostore-updated-item-attribute-affinity-job-" + token,
                job_input_filename_updated)
    for arn in [solution_version_arn, updated_solution_version_arn]:
        print(personalize.get_solution_metrics(solutionVersionArn=arn)["metrics"])

    objects = s3.list_objects_v2(Bucket=bucket_name)
    if "Contents" in objects:
        for obj in objects["Contents"]:
            s3.delete_object(Bucket=bucket_name, Key=obj["Key"])
    s3.delete_bucket(Bucket=bucket_name)
    cleanup.delete_dataset_groups([dataset_group_arn], [], compat.REGION)
    personalize.delete_schema(schemaArn=items_schema_arn)


compat.run(main)
