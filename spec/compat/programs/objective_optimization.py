"""aws-samples next_steps/core_use_cases/objective_optimization: three
user-personalization solutions with optimizationObjective on the items'
ROYALTY (objectiveSensitivity HIGH, LOW, OFF), created and trained
together, their metrics gathered into one table (every version must report
the same metric names, as the notebook's DataFrame.from_dict needs),
three campaigns with an exploration weight, recommendations with the
royalties summed, then the notebook's clean-up: campaigns, solutions,
datasets (each described until gone), schemas, the dataset group, and the
bucket emptied with `aws s3 rm --recursive` and deleted.

Data: MovieLens-like ratings and titles with a made-up negative ROYALTY
per movie. Left out: the IAM role (named here) and its sleeps.
"""
import json
import subprocess
import time

import boto3
from botocore.exceptions import ClientError

import compat


def main():
    suffix = "8814"
    region = compat.REGION
    personalize = boto3.client("personalize")
    personalize_runtime = boto3.client("personalize-runtime")
    s3 = boto3.client("s3")
    bucket_name = "personalize-objective-optimization-" + suffix
    if region != "us-east-1":
        s3.create_bucket(Bucket=bucket_name, CreateBucketConfiguration={"LocationConstraint": region})
    else:
        s3.create_bucket(Bucket=bucket_name)

    movies, ratings = compat.movielens(users=110, items=200, seed=97)
    items = [{"ITEM_ID": m["movieId"], "TITLE": m["title"], "GENRE": m["genres"].split("|")[0],
              "ROYALTY": -round(0.1 + (int(m["movieId"]) * 37 % 100) / 20.0, 2)} for m in movies]
    items_filename = "items.csv"
    compat.write_frame(compat.path(items_filename), items, ["ITEM_ID", "ROYALTY", "GENRE"])
    boto3.Session().resource("s3").Bucket(bucket_name).Object(items_filename).upload_file(compat.path(items_filename))
    policy = {"Version": "2012-10-17", "Id": "PersonalizeS3BucketAccessPolicy",
              "Statement": [{"Sid": "PersonalizeS3BucketAccessPolicy", "Effect": "Allow",
                             "Principal": {"Service": "personalize.amazonaws.com"},
                             "Action": ["s3:*Object", "s3:ListBucket"],
                             "Resource": ["arn:aws:s3:::{}".format(bucket_name),
                                          "arn:aws:s3:::{}/*".format(bucket_name)]}]}
    s3.put_bucket_policy(Bucket=bucket_name, Policy=json.dumps(policy))
    item_schema_arn = personalize.create_schema(
        name="personalize-objective-optmization-item-schema" + suffix, schema=json.dumps({
            "type": "record", "name": "Items", "namespace": "com.amazonaws.personalize.schema",
            "fields": [{"name": "ITEM_ID", "type": "string"}, {"name": "ROYALTY", "type": "float"},
                       {"name": "GENRE", "type": ["null", "string"], "categorical": True}],
            "version": "1.0"}))["schemaArn"]
    data = [{"USER_ID": r["userId"], "ITEM_ID": r["movieId"], "TIMESTAMP": r["timestamp"]}
            for r in ratings if r["rating"] > 3]
    filename = "movie-lens-100k.csv"
    compat.write_frame(compat.path(filename), data, ["USER_ID", "ITEM_ID", "TIMESTAMP"])
    boto3.Session().resource("s3").Bucket(bucket_name).Object(filename).upload_file(compat.path(filename))
    schema_arn = personalize.create_schema(
        name="personalize-objective-optmization-schema" + suffix, schema=json.dumps({
            "type": "record", "name": "Interactions", "namespace": "com.amazonaws.personalize.schema",
            "fields": [{"name": "USER_ID", "type": "string"}, {"name": "ITEM_ID", "type": "string"},
                       {"name": "TIMESTAMP", "type": "long"}],
            "version": "1.0"}))["schemaArn"]
    dataset_group_arn = personalize.create_dataset_group(
        name="personalize-objective-optmization-demo-" + suffix)["datasetGroupArn"]
    compat.wait(lambda: personalize.describe_dataset_group(datasetGroupArn=dataset_group_arn), "datasetGroup")

    def create_dataset(dataset_type, schema_arn, name):
        dataset_arn = personalize.create_dataset(name=name, datasetType=dataset_type,
                                                 datasetGroupArn=dataset_group_arn, schemaArn=schema_arn)["datasetArn"]
        compat.wait(lambda: personalize.describe_dataset(datasetArn=dataset_arn), "dataset", 10)
        return dataset_arn
    interaction_dataset_arn = create_dataset("INTERACTIONS", schema_arn,
                                             "personalize-objective-optmization-interactions-" + suffix)
    item_dataset_arn = create_dataset("ITEMS", item_schema_arn, "personalize-objective-optmization-items-" + suffix)

    def create_dataset_import_job(dataset_arn, location, name):
        arn = personalize.create_dataset_import_job(
            jobName=name, datasetArn=dataset_arn, dataSource={"dataLocation": location},
            roleArn=compat.ROLE_ARN)["datasetImportJobArn"]
        compat.active(compat.wait(lambda: personalize.describe_dataset_import_job(datasetImportJobArn=arn),
                                  "datasetImportJob"), name)
        return arn
    create_dataset_import_job(interaction_dataset_arn, "s3://{}/{}".format(bucket_name, filename),
                              "personalize-objective-optimization-interactions-" + suffix)
    create_dataset_import_job(item_dataset_arn, "s3://{}/{}".format(bucket_name, items_filename),
                              "personalize-objective-optimization-item-" + suffix)

    recipe_arn = "arn:aws:personalize:::recipe/aws-user-personalization"

    def create_solution(name, objectiveSensitivity):
        solution_arn = personalize.create_solution(
            name=name, datasetGroupArn=dataset_group_arn, recipeArn=recipe_arn,
            solutionConfig={"optimizationObjective": {"itemAttribute": "ROYALTY",
                                                      "objectiveSensitivity": objectiveSensitivity}})["solutionArn"]
        solution_version_arn = personalize.create_solution_version(solutionArn=solution_arn)["solutionVersionArn"]
        return {"solution_arn": solution_arn, "solution_version_arn": solution_version_arn}

    def waitForSolutionVersion(solution_version_arn):
        d = compat.wait(lambda: personalize.describe_solution_version(solutionVersionArn=solution_version_arn),
                        "solutionVersion", done=("ACTIVE", "CREATE FAILED", "CREATE STOPPING"))
        compat.active(d, "solution version")

    high_solution = create_solution("movie-recommendation-low-royalties-" + suffix, "HIGH")
    low_solution = create_solution("movie-recommendation-medium-royalties-" + suffix, "LOW")
    no_objective_optimization_solution = create_solution("movie-recommendation-max-relevance-" + suffix, "OFF")
    waitForSolutionVersion(low_solution["solution_version_arn"])
    waitForSolutionVersion(no_objective_optimization_solution["solution_version_arn"])
    waitForSolutionVersion(high_solution["solution_version_arn"])

    metricdata = {"name": []}
    solutions = {"no-optimization": no_objective_optimization_solution, "low-optimization": low_solution,
                 "high-optimization": high_solution}
    for key in solutions:
        metricdata["name"].append(key)
        response = personalize.get_solution_metrics(solutionVersionArn=solutions[key]["solution_version_arn"])
        for metricname in response["metrics"]:
            metricdata.setdefault(metricname, []).append(response["metrics"][metricname])
    compat.expect(len({len(v) for v in metricdata.values()}) == 1, "metric names differ: %r" % metricdata)

    def create_campaign(solution, name):
        return personalize.create_campaign(
            name="personalize-demo-" + name + "-" + suffix, solutionVersionArn=solution["solution_version_arn"],
            minProvisionedTPS=1, campaignConfig={"itemExplorationConfig": {"explorationWeight": "0.5"}})["campaignArn"]

    def waitForCampaign(solution):
        compat.active(compat.wait(lambda: personalize.describe_campaign(campaignArn=solution["campaign_arn"]),
                                  "campaign"), "campaign")
    high_solution["campaign_arn"] = create_campaign(high_solution, "high")
    low_solution["campaign_arn"] = create_campaign(low_solution, "low")
    no_objective_optimization_solution["campaign_arn"] = create_campaign(no_objective_optimization_solution,
                                                                         "max_relevance")
    waitForCampaign(high_solution)
    waitForCampaign(low_solution)
    waitForCampaign(no_objective_optimization_solution)

    user_id = data[len(data) // 3]["USER_ID"]
    royalty = {i["ITEM_ID"]: -1 * i["ROYALTY"] for i in items}
    title = {i["ITEM_ID"]: i["TITLE"] for i in items}
    for solution in [no_objective_optimization_solution, low_solution, high_solution]:
        item_list = personalize_runtime.get_recommendations(campaignArn=solution["campaign_arn"],
                                                            userId=str(user_id))["itemList"]
        total_royalties = sum(royalty[item["itemId"]] for item in item_list)
        print([title[item["itemId"]] for item in item_list], "TOTAL ROYALTIES: %.2f" % total_royalties)
        compat.expect(len(item_list) > 0, "no recommendations")

    max_time = time.time() + 3 * 60 * 60

    def wait_gone(describe, member):
        while time.time() < max_time:
            try:
                print("{}: {}".format(member, describe()[member]["status"]))
            except ClientError as e:
                print(e)
                break
            time.sleep(10)
    all_solutions = [no_objective_optimization_solution, low_solution, high_solution]
    for solution in all_solutions:
        personalize.delete_campaign(campaignArn=solution["campaign_arn"])
    for solution in all_solutions:
        wait_gone(lambda: personalize.describe_campaign(campaignArn=solution["campaign_arn"]), "campaign")
    for solution in all_solutions:
        personalize.delete_solution(solutionArn=solution["solution_arn"])
    for solution in all_solutions:
        wait_gone(lambda: personalize.describe_solution(solutionArn=solution["solution_arn"]), "solution")
    for arn in [item_dataset_arn, interaction_dataset_arn]:
        personalize.delete_dataset(datasetArn=arn)
        wait_gone(lambda: personalize.describe_dataset(datasetArn=arn), "dataset")
    personalize.delete_schema(schemaArn=item_schema_arn)
    personalize.delete_schema(schemaArn=schema_arn)
    personalize.delete_dataset_group(datasetGroupArn=dataset_group_arn)
    wait_gone(lambda: personalize.describe_dataset_group(datasetGroupArn=dataset_group_arn), "datasetGroup")

    subprocess.run(["aws", "s3", "rm", "--recursive", "s3://" + bucket_name], check=True)
    s3.delete_bucket(Bucket=bucket_name)


compat.run(main)
