"""adopt's planning: which resources a hand-over retains and removes, read from the owning stack's template."""

from deployer.commands import adopt

YAML = """
Resources:
  TaskDef:
    Type: AWS::ECS::TaskDefinition
    Properties:
      Family: web
      ExecutionRoleArn: !GetAtt ExecutionRole.Arn
  ExecutionRole:
    Type: AWS::IAM::Role
  Service:
    Type: AWS::ECS::Service
    Properties:
      TaskDefinition: !Ref TaskDef
      Cluster: prod
  ScalableTarget:
    Type: AWS::ApplicationAutoScaling::ScalableTarget
    Properties:
      ResourceId: !Sub "service/prod/${Service.Name}"
  ScalingPolicy:
    Type: AWS::ApplicationAutoScaling::ScalingPolicy
    Properties:
      ScalingTargetId: !Ref ScalableTarget
  Alarm:
    Type: AWS::CloudWatch::Alarm
    DependsOn: [Service]
  Topic:
    Type: AWS::SNS::Topic
Outputs:
  ServiceName: {Value: !GetAtt Service.Name}
  Joined: {Value: !Join ["/", [!Ref Topic, !Ref ScalingPolicy]]}
  TopicArn: {Value: !Ref Topic}
"""


def test_short_form_intrinsics_are_read_as_their_long_forms():
    template = adopt.load_template(YAML)
    assert template["Resources"]["Service"]["Properties"]["TaskDefinition"] == {"Ref": "TaskDef"}
    assert template["Resources"]["TaskDef"]["Properties"]["ExecutionRoleArn"] == {"Fn::GetAtt": ["ExecutionRole", "Arn"]}
    assert adopt.load_template('{"Resources": {}}') == {"Resources": {}}


def test_references_follow_ref_getatt_and_sub():
    template = adopt.load_template(YAML)
    assert adopt.references(template["Resources"]["ScalableTarget"]) == {"Service"}
    assert adopt.references({"Fn::Sub": ["${A}-${B.Arn}-${!Literal}", {"B": {"Ref": "C"}}]}) == {"A", "B", "C"}


def test_the_service_its_task_definition_and_what_refers_to_them_are_handed_over():
    template = adopt.load_template(YAML)
    plan = adopt.plan_hand_over(template, {"Service": "arn:aws:ecs:us-east-1:1:service/prod/web"}, "svc-stack")
    assert plan.handed_over == ["TaskDef", "Service", "ScalableTarget", "ScalingPolicy", "Alarm"]
    assert plan.outputs_removed == ["ServiceName", "Joined"]
    assert plan.still_used == ["ExecutionRole"]  # stays in the stack: the stack must stay
    assert not plan.delete_stack and not plan.retained_already

    retained = adopt.retained_template(plan)
    assert all(retained["Resources"][r]["DeletionPolicy"] == "Retain" for r in plan.handed_over)
    assert "DeletionPolicy" not in retained["Resources"]["Topic"]
    without = adopt.template_without(plan)
    assert sorted(without["Resources"]) == ["ExecutionRole", "Topic"]
    assert list(without["Outputs"]) == ["TopicArn"]
    assert "DeletionPolicy" not in template["Resources"]["Service"]  # the plan's template is not modified


def test_a_stack_with_nothing_else_is_deleted_and_a_retained_one_is_not_updated_again():
    template = {"Resources": {
        "TD": {"Type": "AWS::ECS::TaskDefinition", "DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain"},
        "Svc": {"Type": "AWS::ECS::Service", "DeletionPolicy": "Retain", "Properties": {"TaskDefinition": {"Ref": "TD"}}},
    }}
    plan = adopt.plan_hand_over(template, {"Svc": "arn"}, "s")
    assert plan.delete_stack and plan.retained_already
    assert plan.steps()[0] == "stack s: TD (AWS::ECS::TaskDefinition), Svc (AWS::ECS::Service) already have DeletionPolicy Retain"
    assert plan.steps()[1].startswith("delete stack s: nothing else is in it")
